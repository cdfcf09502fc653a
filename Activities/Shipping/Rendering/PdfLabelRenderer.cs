using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Renders the same 4x6 inch label as <see cref="ZplLabelRenderer"/> as a one-page PDF, for laser printers and for
/// people: text is real text (searchable, extractable), the tracking barcode is drawn as Code 128 bars.
/// </summary>
public static class PdfLabelRenderer
{
    private const double Inch = 72;

    /// <summary>Renders the label and returns the PDF file's bytes.</summary>
    public static byte[] Render(LabelDocument label)
    {
        ArgumentNullException.ThrowIfNull(label);
        LabelFontResolver.Install();

        using var document = new PdfDocument();
        document.Info.Title = $"{label.Carrier.ToUpperInvariant()} {label.TrackingNumber}";
        document.Info.Subject = $"Shipping label for shipment {label.ShipmentId}";
        document.Info.Creator = "Stateset Workflows";
        var page = document.AddPage();
        page.Width = XUnit.FromPoint(4 * Inch);
        page.Height = XUnit.FromPoint(6 * Inch);

        using (var gfx = XGraphics.FromPdfPage(page))
        {
            var small = new XFont(LabelFontResolver.FamilyName, 7, XFontStyleEx.Regular);
            var body = new XFont(LabelFontResolver.FamilyName, 9, XFontStyleEx.Regular);
            var heading = new XFont(LabelFontResolver.FamilyName, 8, XFontStyleEx.Bold);
            var recipient = new XFont(LabelFontResolver.FamilyName, 13, XFontStyleEx.Bold);
            var carrier = new XFont(LabelFontResolver.FamilyName, 20, XFontStyleEx.Bold);
            var width = page.Width.Point;

            gfx.DrawString("FROM", heading, XBrushes.Black, 10, 16);
            var y = 28.0;
            foreach (var line in LabelDocument.Lines(label.From))
            {
                gfx.DrawString(line, body, XBrushes.Black, 10, y);
                y += 10.5;
            }

            Rule(gfx, width, 86);
            gfx.DrawString("SHIP TO", heading, XBrushes.Black, 10, 100);
            y = 118;
            foreach (var line in LabelDocument.Lines(label.To))
            {
                gfx.DrawString(line, recipient, XBrushes.Black, 22, y);
                y += 17;
            }

            Rule(gfx, width, 213);
            gfx.DrawString(label.Carrier.ToUpperInvariant(), carrier, XBrushes.Black, 10, 238);
            gfx.DrawString(label.Service.ToUpperInvariant(), body, XBrushes.Black, 10, 254);
            gfx.DrawString(label.WeightText, body, XBrushes.Black, width - 10, 238, XStringFormats.BaseLineRight);

            Rule(gfx, width, 272);
            gfx.DrawString("TRACKING #", heading, XBrushes.Black, 10, 286);
            DrawBarcode(gfx, label.TrackingNumber, top: 294, height: 78, maxWidth: width - 40);
            gfx.DrawString(label.TrackingNumber, body, XBrushes.Black, width / 2, 386, XStringFormats.BaseLineCenter);

            Rule(gfx, width, 400);
            gfx.DrawString($"SHIPMENT {label.ShipmentId}", small, XBrushes.Black, 10, 416);
        }

        using var stream = new MemoryStream();
        document.Save(stream, closeStream: false);
        return stream.ToArray();
    }

    private static void Rule(XGraphics gfx, double width, double y) =>
        gfx.DrawRectangle(XBrushes.Black, 0, y, width, 1.5);

    private static void DrawBarcode(XGraphics gfx, string text, double top, double height, double maxWidth)
    {
        var widths = Code128.Widths(text);
        var modules = widths.Sum();
        var module = maxWidth / modules;
        var x = (gfx.PageSize.Width - (modules * module)) / 2;
        for (var i = 0; i < widths.Count; i++)
        {
            var w = widths[i] * module;
            if (i % 2 == 0)
            {
                gfx.DrawRectangle(XBrushes.Black, x, top, w, height);
            }

            x += w;
        }
    }
}
