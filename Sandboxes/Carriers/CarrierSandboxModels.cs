namespace Stateset.Sandboxes.Carriers;

/// <summary>An address as the sandbox carriers accept it.</summary>
public sealed record AddressDto(string Name, string Line1, string? Line2, string City, string Region, string PostalCode, string Country);

/// <summary>A parcel as the sandbox carriers accept it.</summary>
public sealed record ParcelDto(int WeightGrams, int LengthMm, int WidthMm, int HeightMm);

/// <summary>Body of <c>POST /carriers/{carrier}/rates</c>.</summary>
public sealed record RateRequestDto(AddressDto From, AddressDto To, ParcelDto Parcel);

/// <summary>One quoted service.</summary>
public sealed record RateDto(string Service, string ServiceLevel, decimal Amount, string Currency, int TransitDays);

/// <summary>Answer of <c>POST /carriers/{carrier}/rates</c>.</summary>
public sealed record RatesDto(string Carrier, IReadOnlyList<RateDto> Rates);

/// <summary>Body of <c>POST /carriers/{carrier}/labels</c> (with an <c>Idempotency-Key</c> header).</summary>
public sealed record PurchaseRequestDto(string Service, AddressDto From, AddressDto To, ParcelDto Parcel);

/// <summary>A label the sandbox sold.</summary>
public sealed record LabelDto(
    string LabelId,
    string Carrier,
    string Service,
    string TrackingNumber,
    decimal Amount,
    string Currency,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? VoidedAt);

/// <summary>Body of <c>POST /carriers/{carrier}/sandbox/labels/{labelId}/events</c>: a tracking event to send.</summary>
/// <param name="Status"><c>in_transit</c>, <c>delivered</c> or <c>exception</c>.</param>
/// <param name="Description">Free text, e.g. the exception reason.</param>
public sealed record TrackingEventRequestDto(string Status, string? Description = null);

/// <summary>The JSON body of a tracking webhook.</summary>
public sealed record TrackingWebhookDto(
    string Id,
    string Type,
    string Carrier,
    string LabelId,
    string TrackingNumber,
    string Status,
    string? Description,
    DateTimeOffset OccurredAt);

/// <summary>What sending a tracking webhook did.</summary>
/// <param name="Event">The event sent.</param>
/// <param name="Delivered">True when the receiver answered 2xx.</param>
/// <param name="ReceiverStatus">The receiver's HTTP status, or null when it was unreachable or no URL is configured.</param>
public sealed record TrackingEventResultDto(TrackingWebhookDto Event, bool Delivered, int? ReceiverStatus);
