using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Stateset.Activities.Shipping;
using Stateset.Sandboxes.Carriers;

namespace Stateset.Shipping.Tests;

public sealed class CarrierSandboxTests(SharedCarrierSandbox shared) : IClassFixture<SharedCarrierSandbox>, IAsyncLifetime
{
    private static readonly ParcelDto Parcel = new(1800, 300, 200, 150);
    private static readonly AddressDto Reno = new("Stateset Reno FC", "1255 Gentry Way", null, "Reno", "NV", "89502", "US");
    private static readonly AddressDto Seattle = new("Ada Lovelace", "400 Broad St", null, "Seattle", "WA", "98109", "US");
    private static readonly AddressDto Toronto = new("Jane Doe", "290 Bremner Blvd", null, "Toronto", "ON", "M5V 3L9", "CA");

    private CarrierSandboxHost _sandbox = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _sandbox = shared.Host;
        _sandbox.Reset();
        _http = _sandbox.CreateClient();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Rates_UsGroundCarrierWithinUs_QuotesItsGroundServicesInUsd()
    {
        var rates = await PostAsync<RatesDto>("/carriers/ridgeline/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Equal(["GROUND", "GROUND_SAVER"], rates.Rates.Select(r => r.Service));
        Assert.All(rates.Rates, r => Assert.Equal(("ground", "USD"), (r.ServiceLevel, r.Currency)));
        // 1.8 kg bills as 2 kg: base + one more kilogram.
        Assert.Equal(8.20m + 1.10m, rates.Rates[0].Amount);
    }

    [Fact]
    public async Task Rates_CanadianPostFromTheUs_QuotesNothing()
    {
        var rates = await PostAsync<RatesDto>("/carriers/maplepost/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Empty(rates.Rates);
    }

    [Fact]
    public async Task Rates_CrossBorder_CostMoreAndTakeLonger()
    {
        var domestic = await PostAsync<RatesDto>("/carriers/swiftair/rates", new RateRequestDto(Reno, Seattle, Parcel));
        var crossBorder = await PostAsync<RatesDto>("/carriers/swiftair/rates", new RateRequestDto(Reno, Toronto, Parcel));

        Assert.Equal(domestic.Rates[0].Amount * SandboxCarrier.CrossBorderFactor, crossBorder.Rates[0].Amount);
        Assert.Equal(domestic.Rates[0].TransitDays + 2, crossBorder.Rates[0].TransitDays);
    }

    [Fact]
    public async Task PurchaseLabel_SameIdempotencyKeyTwice_ReturnsTheSameLabel()
    {
        var request = new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel);

        using var first = await PurchaseAsync("ridgeline", request, "shipment-1:label");
        using var second = await PurchaseAsync("ridgeline", request, "shipment-1:label");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var label = await first.Content.ReadFromJsonAsync<LabelDto>();
        Assert.Equal(label, await second.Content.ReadFromJsonAsync<LabelDto>());
        Assert.StartsWith("1R", label!.TrackingNumber, StringComparison.Ordinal);
        Assert.Equal(18, label.TrackingNumber.Length);
    }

    [Fact]
    public async Task PurchaseLabel_ConcurrentDuplicates_SellOneLabel()
    {
        var request = new PurchaseRequestDto("TWO_DAY", Reno, Toronto, Parcel);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PurchaseAsync("swiftair", request, "shipment-2:label")));

        var labels = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<LabelDto>()));
        Assert.Single(labels.Select(l => l!.LabelId).Distinct());
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => r.Dispose());
    }

    [Fact]
    public async Task PurchaseLabel_KeyReusedForAnotherPurchase_IsRefused()
    {
        using var first = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel), "shipment-3:label");
        using var second = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND_SAVER", Reno, Seattle, Parcel), "shipment-3:label");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
    }

    [Fact]
    public async Task PurchaseLabel_WithoutIdempotencyKey_IsABadRequest()
    {
        using var response = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel), idempotencyKey: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task PurchaseLabel_ServiceNotOfferedOnTheRoute_IsUnprocessable()
    {
        using var response = await PurchaseAsync("maplepost", new PurchaseRequestDto("PRIORITY", Reno, Seattle, Parcel), "shipment-4:label");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    [Fact]
    public async Task VoidLabel_Twice_SucceedsBothTimesAndStaysVoided()
    {
        using var purchase = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel), "shipment-5:label");
        var label = (await purchase.Content.ReadFromJsonAsync<LabelDto>())!;

        var first = await PostAsync<LabelDto>($"/carriers/ridgeline/labels/{label.LabelId}/void", body: null);
        var second = await PostAsync<LabelDto>($"/carriers/ridgeline/labels/{label.LabelId}/void", body: null);

        Assert.Equal("voided", first.Status);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task VoidLabel_UnknownLabel_IsNotFound()
    {
        using var response = await _http.PostAsync("/carriers/ridgeline/labels/lbl_nope/void", content: null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task CarrierMarkedDown_AnswersServiceUnavailable()
    {
        using var faults = await _http.PutAsJsonAsync("/carriers/swiftair/sandbox/faults", new CarrierFaults { Down = true });
        faults.EnsureSuccessStatusCode();

        using var response = await _http.PostAsJsonAsync("/carriers/swiftair/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task FailPurchasesFlag_FailsPurchasesButNotRates()
    {
        _sandbox.State.SetFaults("ridgeline", new CarrierFaults { FailPurchases = true });

        using var purchase = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel), "shipment-6:label");
        using var rates = await _http.PostAsJsonAsync("/carriers/ridgeline/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Equal(HttpStatusCode.InternalServerError, purchase.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rates.StatusCode);
    }

    [Fact]
    public async Task UnknownCarrier_IsNotFound()
    {
        using var response = await _http.PostAsJsonAsync("/carriers/pony-express/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ApiKeyConfigured_CallWithoutItIsUnauthorized_WithItSucceeds()
    {
        await using var sandbox = await CarrierSandboxHost.StartAsync(apiKey: "sk_test_123");
        using var http = sandbox.CreateClient();

        using var anonymous = await http.PostAsJsonAsync("/carriers/ridgeline/rates", new RateRequestDto(Reno, Seattle, Parcel));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_123");
        using var authenticated = await http.PostAsJsonAsync("/carriers/ridgeline/rates", new RateRequestDto(Reno, Seattle, Parcel));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, authenticated.StatusCode);
    }

    [Theory]
    [InlineData("in_transit")]
    [InlineData("delivered")]
    [InlineData("exception")]
    public async Task TrackingEvent_IsPostedToTheWebhookUrlWithAValidSignature(string status)
    {
        using var purchase = await PurchaseAsync("maplepost", new PurchaseRequestDto("REGULAR", Toronto, Toronto, Parcel), $"shipment-{status}:label");
        var label = (await purchase.Content.ReadFromJsonAsync<LabelDto>())!;

        var result = await PostAsync<TrackingEventResultDto>(
            $"/carriers/maplepost/sandbox/labels/{label.LabelId}/events", new TrackingEventRequestDto(status, "Scanned at Mississauga"));

        Assert.True(result.Delivered);
        var webhook = Assert.Single(_sandbox.ReceivedWebhooks);
        var body = JsonSerializer.Deserialize<TrackingWebhookDto>(webhook.Body, JsonSerializerOptions.Web)!;
        Assert.Equal((label.TrackingNumber, status, "maplepost"), (body.TrackingNumber, body.Status, body.Carrier));
        Assert.Equal(
            WebhookSignatureCheck.Valid,
            CarrierWebhookSignature.Verify(CarrierSandboxHost.WebhookSecret, webhook.Signature, webhook.Body, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task TrackingEvent_ForAVoidedLabel_IsRefused()
    {
        using var purchase = await PurchaseAsync("ridgeline", new PurchaseRequestDto("GROUND", Reno, Seattle, Parcel), "shipment-7:label");
        var label = (await purchase.Content.ReadFromJsonAsync<LabelDto>())!;
        await PostAsync<LabelDto>($"/carriers/ridgeline/labels/{label.LabelId}/void", body: null);

        using var response = await _http.PostAsJsonAsync(
            $"/carriers/ridgeline/sandbox/labels/{label.LabelId}/events", new TrackingEventRequestDto("in_transit"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Empty(_sandbox.ReceivedWebhooks);
    }

    private async Task<HttpResponseMessage> PurchaseAsync(string carrier, PurchaseRequestDto request, string? idempotencyKey)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"/carriers/{carrier}/labels") { Content = JsonContent.Create(request) };
        if (idempotencyKey is not null)
        {
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await _http.SendAsync(message);
    }

    private async Task<T> PostAsync<T>(string path, object? body)
    {
        using var response = body is null ? await _http.PostAsync(path, content: null) : await _http.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }
}
