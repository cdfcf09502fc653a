using Microsoft.Extensions.Logging;

namespace Stateset.TemporalServer.Tests;

/// <summary>The command-line forms the SDK's ephemeral-server launcher passes to an existing binary.</summary>
public sealed class ServerCommandLineTests
{
    [Fact]
    public void StartDev_AsTheSdkPassesIt_IsADevServer_AndIgnoresDynamicConfig()
    {
        var command = ServerCommandLine.Parse([
            "server", "start-dev", "--port", "17201", "--namespace", "orders", "--ip", "127.0.0.1", "--log-format", "pretty",
            "--log-level", "warn", "--dynamic-config-value", "frontend.enableServerVersionCheck=false",
            "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true", "--dynamic-config-value", "limit.blobSize.error=1",
            "--ui-port", "18201",
        ]);

        Assert.False(command.Options.TimeSkipping);
        Assert.Equal(17201, command.Options.Port);
        Assert.Equal(["orders"], command.Options.Namespaces);
        Assert.Equal(18201, command.Options.UiPort);
        Assert.False(command.Options.Headless);
        Assert.Equal(LogLevel.Warning, command.LogLevel);
        Assert.Equal(["dynamic config limit.blobSize.error=1"], command.IgnoredSettings);
    }

    [Fact]
    public void OriginalForm_WithHeadless_IsADevServer()
    {
        var command = ServerCommandLine.Parse(["--port=7233", "--headless", "--log-format", "json"]);

        Assert.Equal(7233, command.Options.Port);
        Assert.True(command.Options.Headless);
        Assert.True(command.JsonLogs);
        Assert.Equal(["default"], command.Options.Namespaces);
    }

    [Fact]
    public void PortAlone_IsALockedTimeSkippingTestServer_UnlessEnabled()
    {
        var locked = ServerCommandLine.Parse(["17202"]);
        var unlocked = ServerCommandLine.Parse(["17202", "--enable-time-skipping"]);

        Assert.True(locked.Options.TimeSkipping);
        Assert.True(locked.Options.StartTimeSkippingLocked);
        Assert.True(locked.ExitWithParent);
        Assert.False(unlocked.Options.StartTimeSkippingLocked);
        Assert.True(locked.Options.Headless);
    }

    [Fact]
    public void PortWithUiPort_IsATestServerServingTheUi()
    {
        var command = ServerCommandLine.Parse(["17202", "--ui-port", "17203"]);

        Assert.True(command.Options.TimeSkipping);
        Assert.Equal(17203, command.Options.UiPort);
        Assert.False(command.Options.Headless);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--port")]
    [InlineData("--dynamic-config-value", "novalue")]
    [InlineData("17202", "--extra")]
    [InlineData("17202", "--ui-port")]
    public void BadArguments_AreOneLineErrors(params string[] args) =>
        Assert.Throws<FormatException>(() => ServerCommandLine.Parse(args));
}
