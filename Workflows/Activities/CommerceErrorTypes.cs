namespace Stateset.Workflows.Activities;

/// <summary>
/// The <c>ErrorType</c> of the business failures commerce activities raise as non-retryable
/// <see cref="Temporalio.Exceptions.ApplicationFailureException"/>s, so workflows can branch on them
/// (release inventory on <see cref="PaymentDeclined"/>, reject on <see cref="InsufficientStock"/>).
/// </summary>
public static class CommerceErrorTypes
{
    /// <summary>The input names a SKU the catalogue does not have.</summary>
    public const string UnknownSku = "UnknownSku";

    /// <summary>A quantity is zero or negative.</summary>
    public const string InvalidQuantity = "InvalidQuantity";

    /// <summary>A money amount is zero, negative or has more precision than the currency allows.</summary>
    public const string InvalidAmount = "InvalidAmount";

    /// <summary>The input's currency differs from the order's, the payment's or the catalogue's.</summary>
    public const string CurrencyMismatch = "CurrencyMismatch";

    /// <summary>The input is malformed in some other way (missing id, empty line list); the message says what.</summary>
    public const string InvalidInput = "InvalidInput";

    /// <summary>The order, payment, refund or return the input names does not exist.</summary>
    public const string NotFound = "NotFound";

    /// <summary>Not enough available stock across all locations for one SKU; the message names it.</summary>
    public const string InsufficientStock = "InsufficientStock";

    /// <summary>The provider declined the authorisation; details carry the decline code.</summary>
    public const string PaymentDeclined = "PaymentDeclined";

    /// <summary>The refund would take the payment's refunds above what was captured.</summary>
    public const string RefundExceedsCaptured = "RefundExceedsCaptured";

    /// <summary>The provider refused the refund.</summary>
    public const string RefundFailed = "RefundFailed";

    /// <summary>The operation does not fit the record's current state (capture a voided payment, reuse an id).</summary>
    public const string InvalidState = "InvalidState";

    /// <summary>The return is not allowed (not delivered, outside the window, not returnable, quantity already returned).</summary>
    public const string ReturnNotEligible = "ReturnNotEligible";
}
