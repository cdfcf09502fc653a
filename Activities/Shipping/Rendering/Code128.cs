namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Code 128 (code set B) bar widths for the PDF label; the ZPL label lets the printer encode with <c>^BC</c>.
/// Tracking numbers are printable ASCII, which set B covers; set C packing would only make the bars narrower.
/// </summary>
internal static class Code128
{
    private const int StartB = 104;
    private const int Stop = 106;

    // Bar, space, bar, … widths in modules for symbol values 0–106 (ISO/IEC 15417); 106 is the stop with its
    // termination bar.
    private static readonly string[] Patterns =
    [
        "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
        "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
        "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
        "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
        "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
        "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
        "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
        "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
        "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
        "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
        "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
    ];

    /// <summary>Gets the symbol values of <paramref name="text"/>: start B, data, checksum, stop.</summary>
    public static IReadOnlyList<int> Symbols(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var symbols = new List<int>(text.Length + 3) { StartB };
        var checksum = StartB;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < ' ' || c > '~')
            {
                throw new ArgumentException($"Code 128 set B cannot encode '{c}' (U+{(int)c:X4}).", nameof(text));
            }

            symbols.Add(c - ' ');
            checksum += (c - ' ') * (i + 1);
        }

        symbols.Add(checksum % 103);
        symbols.Add(Stop);
        return symbols;
    }

    /// <summary>Gets alternating bar and space widths in modules, starting with a bar.</summary>
    public static IReadOnlyList<int> Widths(string text) =>
        [.. Symbols(text).SelectMany(symbol => Patterns[symbol]).Select(digit => digit - '0')];
}
