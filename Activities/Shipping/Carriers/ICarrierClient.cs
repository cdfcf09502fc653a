using Stateset.Workflows.Activities;

namespace Stateset.Activities.Shipping.Carriers;

/// <summary>
/// One carrier's API as the shipping activities need it. The sandbox carriers speak <see cref="HttpCarrierClient"/>'s
/// protocol; a real carrier adapter implements this interface behind its own base URL and credentials.
/// Transport trouble that survived the resilience pipeline surfaces as <see cref="CarrierUnavailableException"/>;
/// a refusal the carrier means (bad request, rate withdrawn) as <see cref="CarrierRejectedException"/>.
/// </summary>
public interface ICarrierClient
{
    /// <summary>Gets the carrier code, e.g. <c>ridgeline</c>.</summary>
    string Carrier { get; }

    /// <summary>Quotes every service the carrier offers between the two addresses.</summary>
    Task<IReadOnlyList<Rate>> GetRatesAsync(CarrierRateRequest request, CancellationToken cancellationToken);

    /// <summary>Buys a label; the same <paramref name="idempotencyKey"/> always returns the same label.</summary>
    Task<CarrierLabel> PurchaseLabelAsync(CarrierPurchaseRequest request, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Voids a label; voiding a voided label succeeds. Returns false when the carrier does not know the label:
    /// there is nothing it could bill, so nothing to void.
    /// </summary>
    Task<bool> VoidLabelAsync(string carrierLabelId, CancellationToken cancellationToken);
}

/// <summary>What a carrier needs to quote.</summary>
public sealed record CarrierRateRequest(Address From, Address To, Parcel Parcel);

/// <summary>What a carrier needs to sell a label for one of its services.</summary>
public sealed record CarrierPurchaseRequest(string Service, Address From, Address To, Parcel Parcel);

/// <summary>A label as the carrier sold it.</summary>
public sealed record CarrierLabel(string LabelId, string TrackingNumber, string Service, decimal Amount, string Currency);

/// <summary>The carrier could not be reached or kept failing (5xx, timeouts, open circuit); trying later may work.</summary>
public sealed class CarrierUnavailableException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="CarrierUnavailableException"/> class.</summary>
    public CarrierUnavailableException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CarrierUnavailableException"/> class.</summary>
    public CarrierUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CarrierUnavailableException"/> class.</summary>
    public CarrierUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The carrier answered and refused the request; repeating it will not help.</summary>
public sealed class CarrierRejectedException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="CarrierRejectedException"/> class.</summary>
    public CarrierRejectedException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CarrierRejectedException"/> class.</summary>
    public CarrierRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="CarrierRejectedException"/> class.</summary>
    public CarrierRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
