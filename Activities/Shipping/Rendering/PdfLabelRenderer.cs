using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Renders the same 4x6 inch label as <see cref="ZplLabelRenderer"/> as a one-page PDF with PDFsharp 6.2.4 (MIT;
/// later releases name the AGPL), for laser printers and for people: sender, recipient, carrier, service, weight,
/// the tracking number as Code 128 bars drawn on the page, and the number in text beneath. The fonts come from
/// <see cref="LabelFonts"/> and are embedded, so the file prints the same anywhere.
/// The output is deterministic: the same label always gives the same bytes (its dates are the label's issue time and
/// its document id a hash of what it shows), so a retried render rewrites exactly what a station may already hold.
/// </summary>
public static partial class PdfLabelRenderer
{
    /// <summary>Page width in points (4 inches).</summary>
    public const double Width = 4 * 72;

    /// <summary>Page height in points (6 inches).</summary>
    public const double Height = 6 * 72;

    private const double Margin = 10;

    /// <summary>Renders the label and returns the PDF file's bytes.</summary>
    public static byte[] Render(LabelDocument label)
    {
        ArgumentNullException.ThrowIfNull(label);
        LabelFonts.EnsureInstalled();

        using var document = new PdfDocument();
        var issuedAt = (label.IssuedAt ?? DateTimeOffset.UnixEpoch).UtcDateTime;
        document.Info.Title = $"{label.Carrier.ToUpperInvariant()} {label.TrackingNumber}";
        document.Info.Subject = $"Shipping label for shipment {label.ShipmentId}";
        document.Info.Creator = "Stateset Workflows";
        document.Info.CreationDate = issuedAt;
        document.Info.ModificationDate = issuedAt;
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{label.ShipmentId}\n{label.Carrier}\n{label.TrackingNumber}")), 0, 16);
        document.Internals.FirstDocumentID = id;
        document.Internals.SecondDocumentID = id;

        var page = document.AddPage();
        page.Width = XUnit.FromPoint(Width);
        page.Height = XUnit.FromPoint(Height);
        using (var graphics = XGraphics.FromPdfPage(page))
        {
            Draw(graphics, label);
        }

        using var file = new MemoryStream();
        document.Save(file, closeStream: false);
        return WithStableIdentifiers(file.ToArray(), id);
    }

    /// <summary>
    /// PDFsharp names each embedded font subset with a random six-letter tag (<c>/ABCDEF+DejaVuSans</c>) and gives
    /// the XMP metadata random document and instance uuids; replacing them with values derived from the document id
    /// keeps the bytes stable. Each replacement has the length of what it replaces, so every offset in the
    /// cross-reference table stays right.
    /// </summary>
    private static byte[] WithStableIdentifiers(byte[] pdf, string documentId)
    {
        byte[] Hash(string of) => SHA256.HashData(Encoding.UTF8.GetBytes($"{documentId}/{of}"));
        var text = Encoding.Latin1.GetString(pdf);
        text = SubsetTag().Replace(text, match =>
            $"/{string.Concat(Hash(match.Groups["face"].Value).Take(6).Select(b => (char)('A' + (b % 26))))}+{match.Groups["face"].Value}");
        text = XmpUuid().Replace(text, match => $"<xmpMM:{match.Groups["kind"].Value}>uuid:{new Guid(Hash(match.Groups["kind"].Value).AsSpan(0, 16))}");
        return Encoding.Latin1.GetBytes(text);
    }

    [GeneratedRegex(@"/[A-Z]{6}\+(?<face>[A-Za-z0-9#,-]+)")]
    private static partial Regex SubsetTag();

    [GeneratedRegex(@"<xmpMM:(?<kind>DocumentID|InstanceID)>uuid:[0-9a-fA-F-]{36}")]
    private static partial Regex XmpUuid();

    private static void Draw(XGraphics page, LabelDocument label)
    {
        Text(page, Font(8, bold: true), Margin, 16, "FROM");
        var y = 28.0;
        foreach (var line in LabelDocument.Lines(label.From))
        {
            Text(page, Font(9), Margin, y, line);
            y += 10.5;
        }

        Rule(page, 86);
        Text(page, Font(8, bold: true), Margin, 100, "SHIP TO");
        y = 118;
        foreach (var line in LabelDocument.Lines(label.To))
        {
            Text(page, Font(13, bold: true), 22, y, line);
            y += 17;
        }

        Rule(page, 213);
        Text(page, Font(20, bold: true), Margin, 238, label.Carrier.ToUpperInvariant());
        Text(page, Font(9), Margin, 254, label.Service.ToUpperInvariant());
        page.DrawString(label.WeightText, Font(9), XBrushes.Black, Width - Margin, 238, XStringFormats.BaseLineRight);

        Rule(page, 272);
        Text(page, Font(8, bold: true), Margin, 286, "TRACKING #");
        Barcode(page, label.TrackingNumber, top: 294, height: 78, width: Width - 40);
        page.DrawString(label.TrackingNumber, Font(10, mono: true), XBrushes.Black, Width / 2, 386, XStringFormats.BaseLineCenter);

        Rule(page, 400);
        Text(page, Font(7), Margin, 416, $"SHIPMENT {label.ShipmentId}");
    }

    private static XFont Font(double size, bool bold = false, bool mono = false) =>
        new(mono ? LabelFonts.Mono : LabelFonts.Sans, size, bold ? XFontStyleEx.Bold : XFontStyleEx.Regular, new XPdfFontOptions(PdfFontEncoding.Unicode));

    // A line that would run off the label is set smaller rather than cut: an address must print whole.
    private static void Text(XGraphics page, XFont font, double x, double baseline, string text)
    {
        var room = Width - Margin - x;
        var width = page.MeasureString(text, font).Width;
        if (width > room)
        {
            font = new XFont(font.FontFamily.Name, font.Size * room / width, font.Style, font.PdfOptions);
        }

        page.DrawString(text, font, XBrushes.Black, x, baseline, XStringFormats.BaseLineLeft);
    }

    private static void Rule(XGraphics page, double top) => page.DrawRectangle(XBrushes.Black, 0, top, Width, 1.5);

    private static void Barcode(XGraphics page, string text, double top, double height, double width)
    {
        var widths = Code128.Widths(text);
        var module = width / widths.Sum();
        var x = (Width - width) / 2;
        for (var i = 0; i < widths.Count; i++)
        {
            if (i % 2 == 0)
            {
                page.DrawRectangle(XBrushes.Black, x, top, widths[i] * module, height);
            }

            x += widths[i] * module;
        }
    }
}
