using System.Globalization;
using System.Text;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Renders the same 4x6 inch label as <see cref="ZplLabelRenderer"/> as a one-page PDF 1.4 file, for laser printers
/// and for people. Text uses the standard Helvetica and Courier fonts every PDF reader carries, so nothing is
/// embedded and nothing depends on fonts installed on the (headless) worker; the tracking barcode is drawn as
/// Code 128 bars. The writer is this small on purpose: the PDFsharp release available here (6.5) is AGPL-3.0 or
/// commercial, and refuses to run until one of those is chosen in code, which is a decision for the product's owner.
/// The output is deterministic: the same label always gives the same bytes.
/// </summary>
public static class PdfLabelRenderer
{
    /// <summary>Page width in points (4 inches).</summary>
    public const double Width = 4 * 72;

    /// <summary>Page height in points (6 inches).</summary>
    public const double Height = 6 * 72;

    /// <summary>Renders the label and returns the PDF file's bytes.</summary>
    public static byte[] Render(LabelDocument label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var page = new PageContent();

        page.Text(Font.Bold, 8, 10, 16, "FROM");
        var y = 28.0;
        foreach (var line in LabelDocument.Lines(label.From))
        {
            page.Text(Font.Regular, 9, 10, y, line);
            y += 10.5;
        }

        page.Rule(86);
        page.Text(Font.Bold, 8, 10, 100, "SHIP TO");
        y = 118;
        foreach (var line in LabelDocument.Lines(label.To))
        {
            page.Text(Font.Bold, 13, 22, y, line);
            y += 17;
        }

        page.Rule(213);
        page.Text(Font.Bold, 20, 10, 238, label.Carrier.ToUpperInvariant());
        page.Text(Font.Regular, 9, 10, 254, label.Service.ToUpperInvariant());
        page.Text(Font.Regular, 9, 180, 238, label.WeightText);

        page.Rule(272);
        page.Text(Font.Bold, 8, 10, 286, "TRACKING #");
        page.Barcode(label.TrackingNumber, top: 294, height: 78, maxWidth: Width - 40);
        // Courier is monospaced (600/1000 em per character), so the number can be centred without font metrics.
        const double trackingSize = 10;
        page.Text(Font.Mono, trackingSize, (Width - (label.TrackingNumber.Length * 0.6 * trackingSize)) / 2, 386, label.TrackingNumber);

        page.Rule(400);
        page.Text(Font.Regular, 7, 10, 416, $"SHIPMENT {label.ShipmentId}");

        return Write(page.ToBytes(), title: $"{label.Carrier.ToUpperInvariant()} {label.TrackingNumber}", subject: $"Shipping label for shipment {label.ShipmentId}");
    }

    private enum Font
    {
        Regular,
        Bold,
        Mono,
    }

    private static byte[] Write(byte[] content, string title, string subject)
    {
        byte[] contentStream = [.. Ascii($"<< /Length {content.Length} >>\nstream\n"), .. content, .. Ascii("\nendstream")];
        var objects = new List<byte[]>
        {
            Ascii("<< /Type /Catalog /Pages 2 0 R >>"),
            Ascii("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            Ascii(Invariant($"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {Width} {Height}] ")
                + "/Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> >> /Contents 7 0 R >>"),
            Ascii("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
            Ascii("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"),
            Ascii("<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"),
            contentStream,
            Ascii($"<< /Title {PdfString(title)} /Subject {PdfString(subject)} /Creator (Stateset Workflows) /Producer (Stateset Workflows) >>"),
        };

        using var file = new MemoryStream();
        // The binary comment line tells transfer tools the file is binary (PDF 1.4, section 3.4.1).
        file.Write(Ascii("%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n"));
        var offsets = new List<long>();
        for (var i = 0; i < objects.Count; i++)
        {
            offsets.Add(file.Position);
            file.Write(Ascii($"{i + 1} 0 obj\n"));
            file.Write(objects[i]);
            file.Write(Ascii("\nendobj\n"));
        }

        var xref = file.Position;
        var table = new StringBuilder($"xref\n0 {objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
        {
            table.Append(Invariant($"{offset:D10} 00000 n \n"));
        }

        table.Append(Invariant($"trailer\n<< /Size {objects.Count + 1} /Root 1 0 R /Info {objects.Count} 0 R >>\nstartxref\n{xref}\n%%EOF\n"));
        file.Write(Ascii(table.ToString()));
        return file.ToArray();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    // Latin-1 bytes: the text was made WinAnsi-safe (and ASCII) by PdfString before it gets here.
    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>
    /// A PDF literal string in WinAnsiEncoding: delimiters escaped, Latin-1 letters (é, è, ç, …) as octal escapes,
    /// a few typographic characters mapped to their WinAnsi codes, anything else as '?'.
    /// </summary>
    private static string PdfString(string text)
    {
        var pdf = new StringBuilder("(");
        foreach (var c in text)
        {
            int code = c switch
            {
                '\u2018' => 0x91,
                '\u2019' => 0x92,
                '\u201C' => 0x93,
                '\u201D' => 0x94,
                '\u2013' => 0x96,
                '\u2014' => 0x97,
                '\u20AC' => 0x80,
                >= ' ' and <= '~' => c,
                >= '\u00A0' and <= '\u00FF' => c,
                _ => '?',
            };
            if (code is '(' or ')' or '\\')
            {
                pdf.Append('\\').Append((char)code);
            }
            else if (code > '~')
            {
                pdf.Append('\\').Append(Convert.ToString(code, 8));
            }
            else
            {
                pdf.Append((char)code);
            }
        }

        return pdf.Append(')').ToString();
    }

    /// <summary>The page's content stream, written top-down in points from the top-left corner.</summary>
    private sealed class PageContent
    {
        private readonly StringBuilder _content = new();

        public void Text(Font font, double size, double x, double baselineFromTop, string text)
        {
            var name = font switch
            {
                Font.Bold => "F2",
                Font.Mono => "F3",
                _ => "F1",
            };
            _content.Append(Invariant($"BT /{name} {size:0.##} Tf {x:0.###} {Height - baselineFromTop:0.###} Td ")).Append(PdfString(text)).Append(" Tj ET\n");
        }

        public void Rule(double top) => Rectangle(0, top, Width, 1.5);

        public void Barcode(string text, double top, double height, double maxWidth)
        {
            var widths = Code128.Widths(text);
            var module = maxWidth / widths.Sum();
            var x = (Width - maxWidth) / 2;
            for (var i = 0; i < widths.Count; i++)
            {
                if (i % 2 == 0)
                {
                    Rectangle(x, top, widths[i] * module, height);
                }

                x += widths[i] * module;
            }
        }

        public byte[] ToBytes() => Ascii(_content.ToString());

        private void Rectangle(double x, double top, double width, double height) =>
            _content.Append(Invariant($"{x:0.###} {Height - top - height:0.###} {width:0.###} {height:0.###} re f\n"));
    }
}
