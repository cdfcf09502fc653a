using PdfSharp.Fonts;
using PdfSharp.WPFonts;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Serves the label font from inside the PDFsharp package (its Segoe WP faces), so PDF labels render the same on a
/// headless Linux worker with no system fonts as anywhere else: PDFsharp's Core build has no platform font lookup
/// outside Windows and would otherwise fail on the first <c>XFont</c>.
/// </summary>
internal sealed class LabelFontResolver : IFontResolver
{
    /// <summary>The family name the label renderer asks for.</summary>
    public const string FamilyName = "Stateset Label";

    private const string Regular = "SegoeWP";
    private const string Bold = "SegoeWP-Bold";
    private static readonly Lock Gate = new();

    /// <summary>Installs the resolver once per process, as primary resolver if none is set, else as fallback.</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (GlobalFontSettings.FontResolver is LabelFontResolver || GlobalFontSettings.FallbackFontResolver is LabelFontResolver)
            {
                return;
            }

            if (GlobalFontSettings.FontResolver is null)
            {
                GlobalFontSettings.FontResolver = new LabelFontResolver();
            }
            else
            {
                GlobalFontSettings.FallbackFontResolver ??= new LabelFontResolver();
            }
        }
    }

    /// <inheritdoc />
    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic) =>
        string.Equals(familyName, FamilyName, StringComparison.OrdinalIgnoreCase)
            ? new FontResolverInfo(bold ? Bold : Regular, mustSimulateBold: false, mustSimulateItalic: italic)
            : null;

    /// <inheritdoc />
    public byte[]? GetFont(string faceName) => faceName switch
    {
        Regular => FontDataHelper.SegoeWP,
        Bold => FontDataHelper.SegoeWPBold,
        _ => null,
    };
}
