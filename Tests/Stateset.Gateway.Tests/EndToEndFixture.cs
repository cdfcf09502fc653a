using Microsoft.Playwright;
using Stateset.Testing.EndToEnd;

namespace Stateset.Gateway.Tests;

/// <summary>
/// The whole system on loopback (<see cref="StatesetSystem"/>, shared with the end-to-end suite): the gateway's own
/// end-to-end and browser tests run against it, the browser tests in one Chromium of the collection's.
/// </summary>
public sealed class EndToEndFixture : StatesetSystem, IAsyncLifetime
{
    private readonly SemaphoreSlim _launching = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>
    /// A fresh browser context (its own cookies, storage and cache, as a new incognito window) on the collection's
    /// Chromium, launched by the first test that asks. Starting Playwright's driver and Chromium cost each browser test
    /// seconds of CPU; a context costs milliseconds and shares nothing with the tests before it.
    /// </summary>
    public async Task<IBrowserContext> NewBrowserContextAsync(BrowserNewContextOptions options)
    {
        await _launching.WaitAsync();
        try
        {
            if (_browser is not { IsConnected: true })
            {
                _playwright ??= await Playwright.CreateAsync();
                _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.ExecutablePath });
            }
        }
        finally
        {
            _launching.Release();
        }

        return await _browser.NewContextAsync(options);
    }

    /// <inheritdoc />
    public new async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        _launching.Dispose();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "end-to-end";
}
