namespace Stateset.Workflows.Activities;

/// <summary>A postal address as orders, customers and risk rules carry it.</summary>
/// <remarks>
/// <para><c>Region</c>: US state or Canadian province code (NV, ON).</para>
/// <para><c>Country</c>: ISO 3166-1 alpha-2 code (US, CA).</para>
/// </remarks>
public sealed record PostalAddress(
    string Name,
    string Line1,
    string? Line2,
    string City,
    string Region,
    string PostalCode,
    string Country);
