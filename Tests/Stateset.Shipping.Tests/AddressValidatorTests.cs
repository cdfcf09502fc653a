using Stateset.Activities.Shipping;
using Stateset.Workflows.Activities;
using Temporalio.Exceptions;
using Temporalio.Testing;

namespace Stateset.Shipping.Tests;

public sealed class AddressValidatorTests
{
    // Given line1, city, region, postal code, country → expected region, postal code, country.
    public static TheoryData<string, string, string, string, string, string, string, string> ValidAddresses => new()
    {
        { "1600 Pennsylvania Ave NW", "Washington", "District of Columbia", "20500", "US", "DC", "20500", "US" },
        { "350 Fifth Avenue", "New York", "ny", "10118-0110", "USA", "NY", "10118-0110", "US" },
        { "  1  Infinite   Loop ", "Cupertino", "California", "950141234", "United States", "CA", "95014-1234", "US" },
        { "1 Microsoft Way", "Redmond", "Washington", "98052 6399", "us", "WA", "98052-6399", "US" },
        { "100 Calle de la Fortaleza", "San Juan", "Puerto Rico", "00901", "US", "PR", "00901", "US" },
        { "1024 Marine Dr", "Tamuning", "Guam", "96913", "US", "GU", "96913", "US" },
        { "5500 Veterans Dr", "Charlotte Amalie", "U.S. Virgin Islands", "00802", "US", "VI", "00802", "US" },
        { "Unit 2050 Box 4190", "APO", "AE", "09096", "US", "AE", "09096", "US" },
        { "1 Main St", "Washington", "Washington, D.C.", "20001", "US", "DC", "20001", "US" },
        { "290 Bremner Blvd", "Toronto", "Ontario", "m5v 3l9", "CA", "ON", "M5V 3L9", "CA" },
        { "111 Wellington St", "Ottawa", "ON", "K1A0A9", "Canada", "ON", "K1A 0A9", "CA" },
        { "6300 Kennedy Rd", "Mississauga", "on", "L5T-2X5", "CAN", "ON", "L5T 2X5", "CA" },
        { "2 Rue des Jardins", "Québec", "Québec", "g1r 4s9", "CA", "QC", "G1R 4S9", "CA" },
        { "1001 Rue Sherbrooke O", "Montréal", "Quebec", "H3A 1G5", "CA", "QC", "H3A 1G5", "CA" },
        { "1055 Canada Pl", "Vancouver", "british columbia", "V6C0C3", "CA", "BC", "V6C 0C3", "CA" },
        { "800 Macleod Trail SE", "Calgary", "Alberta", "T2P 2M5", "CA", "AB", "T2P 2M5", "CA" },
        { "510 Main St", "Winnipeg", "Manitoba", "R3B 1B9", "CA", "MB", "R3B 1B9", "CA" },
        { "2476 Victoria Ave", "Regina", "SK", "S4P 3V7", "CA", "SK", "S4P 3V7", "CA" },
        { "1841 Argyle St", "Halifax", "Nova Scotia", "B3J 3A5", "CA", "NS", "B3J 3A5", "CA" },
        { "670 King St", "Fredericton", "New Brunswick", "E3B 1G1", "CA", "NB", "E3B 1G1", "CA" },
        { "10 Barter's Hill", "St. John's", "Newfoundland and Labrador", "A1C 5M2", "CA", "NL", "A1C 5M2", "CA" },
        { "199 Queen St", "Charlottetown", "Prince Edward Island", "C1A 4B7", "CA", "PE", "C1A 4B7", "CA" },
        { "2121 2nd Ave", "Whitehorse", "Yukon", "Y1A 1C8", "CA", "YT", "Y1A 1C8", "CA" },
        { "4807 49 St", "Yellowknife", "Northwest Territories", "X1A 3T5", "CA", "NT", "X1A 3T5", "CA" },
        { "926 Federal Rd", "Iqaluit", "Nunavut", "X0A 0H0", "CA", "NU", "X0A 0H0", "CA" },
        { "1 Rue Saint-Jean", "Québec", "PQ", "G1R 1N3", "CA", "QC", "G1R 1N3", "CA" },
    };

    // Given region, postal code, country → the field named and words the message contains.
    public static TheoryData<string, string, string, string, string> InvalidAddresses => new()
    {
        { "WA", "9810", "US", "to.postalCode", "is not a ZIP code" },
        { "WA", "98109-12", "US", "to.postalCode", "is not a ZIP code" },
        { "WA", "ABCDE", "US", "to.postalCode", "is not a ZIP code" },
        { "WA", "00000", "US", "to.postalCode", "never issued" },
        { "WA", string.Empty, "US", "to.postalCode", "is required" },
        { "ZZ", "98109", "US", "to.region", "'ZZ' is not a state code or name" },
        { "Ontario", "98109", "US", "to.region", "is not a state" },
        { string.Empty, "98109", "US", "to.region", "is required" },
        { "ON", "M5V 3L", "CA", "to.postalCode", "is not a Canadian postal code" },
        { "ON", "12345", "CA", "to.postalCode", "is not a Canadian postal code" },
        { "ON", "MV5 3L9", "CA", "to.postalCode", "is not a Canadian postal code" },
        { "QC", "D1A 1A1", "CA", "to.postalCode", "never uses in postal codes" },
        { "ON", "K1O 1A1", "CA", "to.postalCode", "uses O" },
        { "ON", "M5V 3Q9", "CA", "to.postalCode", "uses Q" },
        { "ON", "M5U 3L9", "CA", "to.postalCode", "uses U" },
        { "ON", "W1A 1A1", "CA", "to.postalCode", "never uses as a first letter" },
        { "ON", "Z1A 1A1", "CA", "to.postalCode", "starts with Z" },
        { "BC", "M5V 3L9", "CA", "to.postalCode", "does not belong to BC: its postal codes start with V" },
        { "QC", "K1A 0A9", "CA", "to.postalCode", "start with G or H or J" },
        { "ON", "V6C 0C3", "CA", "to.postalCode", "start with K or L or M or N or P" },
        { "AB", "S4P 3V7", "CA", "to.postalCode", "start with T" },
        { "NY", "M5V 3L9", "CA", "to.region", "'NY' is not a province code or name" },
        { "ON", "M5V 3L9", "MX", "to.country", "'MX' is not served" },
        { "ON", "M5V 3L9", string.Empty, "to.country", "is required" },
    };

    [Theory]
    [MemberData(nameof(ValidAddresses))]
    public void Validate_RealUsAndCanadianAddresses_NormalisesCodesAndSpacing(
        string line1, string city, string region, string postalCode, string country, string expectedRegion, string expectedPostalCode, string expectedCountry)
    {
        var result = AddressValidator.Validate(new Address(" Jane  Doe ", line1, null, city, region, postalCode, country));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var address = result.Address!;
        Assert.Equal(expectedRegion, address.Region);
        Assert.Equal(expectedPostalCode, address.PostalCode);
        Assert.Equal(expectedCountry, address.Country);
        Assert.Equal("Jane Doe", address.Name);
        Assert.DoesNotContain("  ", address.Line1, StringComparison.Ordinal);
        Assert.Equal(address.Line1.Trim(), address.Line1);
    }

    [Theory]
    [MemberData(nameof(InvalidAddresses))]
    public void Validate_InvalidRegionOrPostalCode_NamesTheFieldAndTheReason(
        string region, string postalCode, string country, string field, string reason)
    {
        var result = AddressValidator.Validate(new Address("Jane Doe", "1 Main St", null, "Springfield", region, postalCode, country));

        var error = Assert.Single(result.Errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Null(result.Address);
    }

    [Fact]
    public void Validate_EmptyAddress_ReportsEveryMissingFieldAtOnce()
    {
        var result = AddressValidator.Validate(new Address(" ", string.Empty, null, "  ", string.Empty, string.Empty, string.Empty), role: "from");

        Assert.Equal(["from.name", "from.line1", "from.city", "from.country"], result.Errors.Select(e => e.Field));
        Assert.All(result.Errors, e => Assert.Contains("is required", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_StreetLineLongerThanCarriersAccept_IsRefusedWithItsLength()
    {
        var line1 = "12345 North Very Long Boulevard Name Extension";

        var result = AddressValidator.Validate(Addresses.Seattle with { Line1 = line1 });

        var error = Assert.Single(result.Errors);
        Assert.Equal("to.line1", error.Field);
        Assert.Contains($"is {line1.Length} characters long", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BlankOptionalLines_BecomeNull()
    {
        var result = AddressValidator.Validate(Addresses.Seattle with { Line2 = "   ", Phone = " " });

        Assert.Null(result.Address!.Line2);
        Assert.Null(result.Address.Phone);
    }

    [Fact]
    public async Task ValidateAddressActivity_InvalidAddress_FailsNonRetryableNamingTheField()
    {
        var activities = new LabelActivitiesWithoutDependencies();
        var input = new ValidateAddressInput(Addresses.Vancouver with { PostalCode = "M5V 3L9" }, Role: "to");

        var failure = await Assert.ThrowsAsync<ApplicationFailureException>(
            () => new ActivityEnvironment().RunAsync(() => activities.Instance.ValidateAddressAsync(input)));

        Assert.Equal(ShippingFailures.InvalidAddress, failure.ErrorType);
        Assert.True(failure.NonRetryable);
        Assert.Contains("to.postalCode", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAddressActivity_ValidAddress_ReturnsTheNormalisedAddress()
    {
        var activities = new LabelActivitiesWithoutDependencies();
        var input = new ValidateAddressInput(Addresses.Vancouver with { Region = "British Columbia", PostalCode = "v6c0c3" });

        var address = await new ActivityEnvironment().RunAsync(() => activities.Instance.ValidateAddressAsync(input));

        Assert.Equal(Addresses.Vancouver, address);
    }
}
