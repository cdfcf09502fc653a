using PdfSharp.Fonts;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// The fonts the PDF label is set in, read from the machine's Debian font packages: DejaVu (fonts-dejavu-core)
/// or, failing that, Liberation (fonts-liberation). PDFsharp's core build finds no system fonts by itself on
/// Linux, so it asks this resolver; the faces it returns are embedded (subset) in every label, which therefore
/// prints the same on any reader or printer.
/// </summary>
internal sealed class LabelFonts : IFontResolver
{
    /// <summary>The family name labels use for proportional text.</summary>
    public const string Sans = "Label Sans";

    /// <summary>The family name labels use for the tracking number under its barcode.</summary>
    public const string Mono = "Label Mono";

    private static readonly string[] FontFolders =
        ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/liberation2"];

    // Face → candidate files, first found wins; DejaVu first because it covers every Latin letter a Canadian
    // or US address carries.
    private static readonly Dictionary<string, string[]> Faces = new(StringComparer.Ordinal)
    {
        ["sans"] = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf"],
        ["sans-bold"] = ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"],
        ["mono"] = ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"],
        ["mono-bold"] = ["DejaVuSansMono-Bold.ttf", "LiberationMono-Bold.ttf"],
    };

    private static readonly Lazy<LabelFonts> Instance = new(() =>
    {
        var fonts = new LabelFonts();

        // Process-wide and settable once before PDFsharp's first font operation; every renderer shares this one.
        GlobalFontSettings.FontResolver = fonts;
        return fonts;
    });

    private readonly Dictionary<string, byte[]> _loaded = new(StringComparer.Ordinal);
    private readonly Lock _loading = new();

    private LabelFonts()
    {
    }

    /// <summary>Installs the resolver in PDFsharp, once per process.</summary>
    public static void EnsureInstalled() => _ = Instance.Value;

    /// <inheritdoc />
    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic)
    {
        var face = familyName switch
        {
            Sans => "sans",
            Mono => "mono",
            _ => null,
        };
        return face is null ? null : new FontResolverInfo(bold ? $"{face}-bold" : face, mustSimulateBold: false, mustSimulateItalic: italic);
    }

    /// <inheritdoc />
    public byte[]? GetFont(string faceName)
    {
        lock (_loading)
        {
            if (_loaded.TryGetValue(faceName, out var bytes))
            {
                return bytes;
            }

            var path = Faces.TryGetValue(faceName, out var files)
                ? files.SelectMany(file => FontFolders.Select(folder => Path.Combine(folder, file))).FirstOrDefault(File.Exists)
                : null;
            if (path is null)
            {
                // Not an IOException: retrying cannot install a package, so the label run fails at once, saying why.
                throw new Temporalio.Exceptions.ApplicationFailureException(
                    $"No font file for the PDF label's '{faceName}' face in {string.Join(", ", FontFolders)}; install Debian's fonts-dejavu-core (or fonts-liberation).",
                    errorType: "LabelFontsMissing",
                    nonRetryable: true);
            }

            return _loaded[faceName] = File.ReadAllBytes(path);
        }
    }
}
