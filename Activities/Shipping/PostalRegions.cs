using System.Collections.Frozen;

namespace Stateset.Activities.Shipping;

/// <summary>The state, district, territory and province codes that US and Canadian carriers accept.</summary>
internal static class PostalRegions
{
    /// <summary>USPS codes: the 50 states, DC, the territories, the freely associated states and the armed forces codes.</summary>
    public static readonly FrozenDictionary<string, string> UnitedStates = new Dictionary<string, string>
    {
        ["AL"] = "Alabama",
        ["AK"] = "Alaska",
        ["AZ"] = "Arizona",
        ["AR"] = "Arkansas",
        ["CA"] = "California",
        ["CO"] = "Colorado",
        ["CT"] = "Connecticut",
        ["DE"] = "Delaware",
        ["FL"] = "Florida",
        ["GA"] = "Georgia",
        ["HI"] = "Hawaii",
        ["ID"] = "Idaho",
        ["IL"] = "Illinois",
        ["IN"] = "Indiana",
        ["IA"] = "Iowa",
        ["KS"] = "Kansas",
        ["KY"] = "Kentucky",
        ["LA"] = "Louisiana",
        ["ME"] = "Maine",
        ["MD"] = "Maryland",
        ["MA"] = "Massachusetts",
        ["MI"] = "Michigan",
        ["MN"] = "Minnesota",
        ["MS"] = "Mississippi",
        ["MO"] = "Missouri",
        ["MT"] = "Montana",
        ["NE"] = "Nebraska",
        ["NV"] = "Nevada",
        ["NH"] = "New Hampshire",
        ["NJ"] = "New Jersey",
        ["NM"] = "New Mexico",
        ["NY"] = "New York",
        ["NC"] = "North Carolina",
        ["ND"] = "North Dakota",
        ["OH"] = "Ohio",
        ["OK"] = "Oklahoma",
        ["OR"] = "Oregon",
        ["PA"] = "Pennsylvania",
        ["RI"] = "Rhode Island",
        ["SC"] = "South Carolina",
        ["SD"] = "South Dakota",
        ["TN"] = "Tennessee",
        ["TX"] = "Texas",
        ["UT"] = "Utah",
        ["VT"] = "Vermont",
        ["VA"] = "Virginia",
        ["WA"] = "Washington",
        ["WV"] = "West Virginia",
        ["WI"] = "Wisconsin",
        ["WY"] = "Wyoming",
        ["DC"] = "District of Columbia",
        ["AS"] = "American Samoa",
        ["GU"] = "Guam",
        ["MP"] = "Northern Mariana Islands",
        ["PR"] = "Puerto Rico",
        ["VI"] = "Virgin Islands",
        ["UM"] = "United States Minor Outlying Islands",
        ["FM"] = "Federated States of Micronesia",
        ["MH"] = "Marshall Islands",
        ["PW"] = "Palau",
        ["AA"] = "Armed Forces Americas",
        ["AE"] = "Armed Forces Europe",
        ["AP"] = "Armed Forces Pacific",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Canada Post codes of the provinces and territories.</summary>
    public static readonly FrozenDictionary<string, string> Canada = new Dictionary<string, string>
    {
        ["AB"] = "Alberta",
        ["BC"] = "British Columbia",
        ["MB"] = "Manitoba",
        ["NB"] = "New Brunswick",
        ["NL"] = "Newfoundland and Labrador",
        ["NS"] = "Nova Scotia",
        ["NT"] = "Northwest Territories",
        ["NU"] = "Nunavut",
        ["ON"] = "Ontario",
        ["PE"] = "Prince Edward Island",
        ["QC"] = "Quebec",
        ["SK"] = "Saskatchewan",
        ["YT"] = "Yukon",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The first letter of a Canadian postal code is the forward sortation area's region: it must agree with the
    /// province (Nunavut and the Northwest Territories share X).
    /// </summary>
    public static readonly FrozenDictionary<string, string> CanadianPostalFirstLetters = new Dictionary<string, string>
    {
        ["AB"] = "T",
        ["BC"] = "V",
        ["MB"] = "R",
        ["NB"] = "E",
        ["NL"] = "A",
        ["NS"] = "B",
        ["NT"] = "X",
        ["NU"] = "X",
        ["ON"] = "KLMNP",
        ["PE"] = "C",
        ["QC"] = "GHJ",
        ["SK"] = "S",
        ["YT"] = "Y",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Full names (and common variants) to codes, compared ignoring case, accents and punctuation.</summary>
    public static readonly FrozenDictionary<string, string> UnitedStatesByName = ByName(UnitedStates, new Dictionary<string, string>
    {
        ["WASHINGTON DC"] = "DC",
        ["WASHINGTON D C"] = "DC",
        ["US VIRGIN ISLANDS"] = "VI",
        ["UNITED STATES VIRGIN ISLANDS"] = "VI",
    });

    /// <inheritdoc cref="UnitedStatesByName"/>
    public static readonly FrozenDictionary<string, string> CanadaByName = ByName(Canada, new Dictionary<string, string>
    {
        ["NEWFOUNDLAND"] = "NL",
        ["YUKON TERRITORY"] = "YT",
        ["PQ"] = "QC",
        ["NF"] = "NL",
        ["LB"] = "NL",
    });

    private static FrozenDictionary<string, string> ByName(
        FrozenDictionary<string, string> codes, Dictionary<string, string> variants)
    {
        foreach (var (code, name) in codes)
        {
            variants[AddressText.Key(name)] = code;
        }

        return variants.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
