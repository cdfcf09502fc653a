using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stateset.TemporalServer.Tests.Workflows;
using Temporalio.Client;
using Temporalio.Worker;

namespace Stateset.TemporalServer.Tests;

/// <summary>
/// The embedded server's HTTP API (<c>/api/v1</c>, what the Temporal UI calls) on its own UI port: routes from the
/// <c>google.api.http</c> rules, proto3 JSON in and out, grpc-gateway's error shape, and the UI's pages.
/// </summary>
public sealed class HttpApiTests : IAsyncLifetime
{
    private EmbeddedTemporalServer _server = null!;
    private ITemporalClient _client = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await EmbeddedTemporalServer.StartAsync(new() { UiPort = 0 });
        _client = await TemporalClient.ConnectAsync(new(_server.Target));
        _http = new HttpClient { BaseAddress = _server.UiUrl };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Headless_ServesNoUiPort()
    {
        await using var headless = await EmbeddedTemporalServer.StartAsync(new() { UiPort = 0, Headless = true });
        Assert.Null(headless.UiUrl);
    }

    [Fact]
    public async Task Settings_ArePascalCase_AndTurnOffWhatTheEngineLacks()
    {
        var settings = await _http.GetFromJsonAsync<JsonElement>("api/v1/settings");
        Assert.False(settings.GetProperty("Auth").GetProperty("Enabled").GetBoolean());
        Assert.Equal("default", settings.GetProperty("DefaultNamespace").GetString());
        Assert.Equal("2.38.0", settings.GetProperty("Version").GetString());
        foreach (var disabled in (string[])["BatchActionsDisabled", "WorkflowResetDisabled", "StartWorkflowDisabled", "WorkflowUpdateDisabled"])
        {
            Assert.True(settings.GetProperty(disabled).GetBoolean(), disabled);
        }

        foreach (var enabled in (string[])["WorkflowSignalDisabled", "WorkflowTerminateDisabled", "WorkflowCancelDisabled", "DisableWriteActions"])
        {
            Assert.False(settings.GetProperty(enabled).GetBoolean(), enabled);
        }
    }

    [Fact]
    public async Task WorkflowIdWithASlash_IsOneEncodedSegment_AndQuerySignalAndDescribeReachTheRun()
    {
        await WithWorkerAsync(async taskQueue =>
        {
            var id = $"orders/{Guid.NewGuid():N} with space";
            var handle = await _client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new(id, taskQueue));
            var path = $"api/v1/namespaces/default/workflows/{Uri.EscapeDataString(id)}";

            var described = await _http.GetFromJsonAsync<JsonElement>($"{path}?execution.runId={handle.ResultRunId}");
            var info = described.GetProperty("workflowExecutionInfo");
            Assert.Equal(id, info.GetProperty("execution").GetProperty("workflowId").GetString());
            Assert.Equal("WORKFLOW_EXECUTION_STATUS_RUNNING", info.GetProperty("status").GetString());

            using var query = await _http.PostAsJsonAsync($"{path}/query/Stage", new { execution = new { runId = handle.ResultRunId }, query = new { } });
            query.EnsureSuccessStatusCode();
            var answer = (await query.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queryResult").GetProperty("payloads")[0];
            Assert.Equal("\"awaiting approval\"", Encoding.UTF8.GetString(Convert.FromBase64String(answer.GetProperty("data").GetString()!)));

            using var signal = await _http.PostAsJsonAsync($"{path}/signal/Decide", new
            {
                input = new { payloads = new[] { JsonPayload("\"approved over HTTP\"") } },
                identity = "http-test",
            });
            signal.EnsureSuccessStatusCode();
            Assert.Equal("approved over HTTP", await handle.GetResultAsync());
        });
    }

    [Fact]
    public async Task Terminate_EndsTheRun_WithTheReasonGiven()
    {
        await WithWorkerAsync(async taskQueue =>
        {
            var handle = await _client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new($"terminate-{Guid.NewGuid()}", taskQueue));
            using var response = await _http.PostAsJsonAsync($"api/v1/namespaces/default/workflows/{handle.Id}/terminate", new { reason = "stopped from the UI" });
            response.EnsureSuccessStatusCode();
            var description = await handle.DescribeAsync();
            Assert.Equal(Temporalio.Api.Enums.V1.WorkflowExecutionStatus.Terminated, description.Status);
            var history = await handle.FetchHistoryAsync();
            Assert.Equal("stopped from the UI", history.Events.Last().WorkflowExecutionTerminatedEventAttributes.Reason);
        });
    }

    [Fact]
    public async Task ListAndCount_TakeTheQueryString_AndCountsGroupByStatus()
    {
        await WithWorkerAsync(async taskQueue =>
        {
            var done = await _client.StartWorkflowAsync((GreetingWorkflow wf) => wf.RunAsync("list"), new($"list-{Guid.NewGuid()}", taskQueue));
            await done.GetResultAsync();
            var waiting = await _client.StartWorkflowAsync((ApprovalWorkflow wf) => wf.RunAsync(0), new($"list-{Guid.NewGuid()}", taskQueue));

            var query = Uri.EscapeDataString($"TaskQueue = '{taskQueue}'");
            var list = await _http.GetFromJsonAsync<JsonElement>($"api/v1/namespaces/default/workflows?query={query}&pageSize=1");
            Assert.Equal(waiting.Id, list.GetProperty("executions")[0].GetProperty("execution").GetProperty("workflowId").GetString());
            var next = list.GetProperty("nextPageToken").GetString()!.Replace('+', '-').Replace('/', '_').TrimEnd('=');
            var second = await _http.GetFromJsonAsync<JsonElement>($"api/v1/namespaces/default/workflows?query={query}&pageSize=1&nextPageToken={next}");
            Assert.Equal(done.Id, second.GetProperty("executions")[0].GetProperty("execution").GetProperty("workflowId").GetString());

            var counts = await _http.GetFromJsonAsync<JsonElement>(
                $"api/v1/namespaces/default/workflow-count?query={Uri.EscapeDataString($"TaskQueue = '{taskQueue}' GROUP BY ExecutionStatus")}");
            Assert.Equal("2", counts.GetProperty("count").GetString());
            var groups = counts.GetProperty("groups").EnumerateArray().ToDictionary(
                g => Encoding.UTF8.GetString(Convert.FromBase64String(g.GetProperty("groupValues")[0].GetProperty("data").GetString()!)),
                g => g.GetProperty("count").GetString());
            Assert.Equal(new Dictionary<string, string?> { ["\"Completed\""] = "1", ["\"Running\""] = "1" }, groups);
            await waiting.TerminateAsync("test over");
        });
    }

    [Fact]
    public async Task Errors_HaveGrpcGatewaysShape_AndStatus()
    {
        using var missing = await _http.GetAsync(new Uri("api/v1/namespaces/default/workflows/no-such-workflow", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var error = await missing.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5, error.GetProperty("code").GetInt32());
        Assert.Contains("no-such-workflow", error.GetProperty("message").GetString());
        Assert.Equal("type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure", error.GetProperty("details")[0].GetProperty("@type").GetString());

        using var badQuery = await _http.GetAsync(new Uri("api/v1/namespaces/default/workflows?query=WorkflowId%20%3D", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Equal(3, (await badQuery.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetInt32());

        using var unknownNamespace = await _http.GetAsync(new Uri("api/v1/namespaces/nowhere", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknownNamespace.StatusCode);

        using var unimplemented = await _http.GetAsync(new Uri("api/v1/namespaces/default/schedules", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotImplemented, unimplemented.StatusCode);
        Assert.Equal(12, (await unimplemented.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetInt32());

        using var noRoute = await _http.GetAsync(new Uri("api/v1/no/such/route", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, noRoute.StatusCode);
    }

    [Fact]
    public async Task SearchAttributes_IncludeTheSystemOnes_ForTheUisSearchBar()
    {
        var attributes = await _http.GetFromJsonAsync<JsonElement>("api/v1/namespaces/default/search-attributes");
        Assert.Equal("INDEXED_VALUE_TYPE_KEYWORD", attributes.GetProperty("systemAttributes").GetProperty("WorkflowId").GetString());
        Assert.Equal("INDEXED_VALUE_TYPE_DATETIME", attributes.GetProperty("systemAttributes").GetProperty("StartTime").GetString());
    }

    [Fact]
    public async Task EveryPagePath_AnswersTheUi_OrSaysInOneLineWhyNot()
    {
        using var page = await _http.GetAsync(new Uri("namespaces/default/workflows/orders%2F42/some-run/history", UriKind.Relative));
        var body = await page.Content.ReadAsStringAsync();
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, "temporal-ui", "index.html")))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("<div id=\"svelte\">", body);
            Assert.Null(_server.UiUnavailableReason);
            using var license = await _http.GetAsync(new Uri("LICENSE-temporalio-ui.txt", UriKind.Relative));
            Assert.Contains("MIT License", await license.Content.ReadAsStringAsync());
        }
        else
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
            Assert.Contains("install", body);
            Assert.Equal(body.Trim(), _server.UiUnavailableReason);
        }
    }

    private static object JsonPayload(string json) => new
    {
        metadata = new { encoding = Convert.ToBase64String("json/plain"u8.ToArray()) },
        data = Convert.ToBase64String(Encoding.UTF8.GetBytes(json)),
    };

    private async Task WithWorkerAsync(Func<string, Task> test)
    {
        var taskQueue = $"tq-{Guid.NewGuid()}";
        using var worker = new TemporalWorker(_client, new TemporalWorkerOptions(taskQueue).AddWorkflow<ApprovalWorkflow>().AddWorkflow<GreetingWorkflow>());
        await worker.ExecuteAsync(() => test(taskQueue));
    }
}
