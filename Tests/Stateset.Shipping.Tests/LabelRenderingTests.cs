using System.Text;
using Stateset.Activities.Shipping.Rendering;
using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;

namespace Stateset.Shipping.Tests;

public sealed class LabelRenderingTests
{
    private static readonly LabelDocument Label = new(
        ShipmentId: "o-1001:shipment-1",
        Carrier: "maplepost",
        Service: "XPRESSPOST",
        TrackingNumber: "7023210039414604",
        From: Addresses.MississaugaWarehouse,
        To: Addresses.Montreal,
        WeightGrams: 1800);

    [Fact]
    public void Zpl_IsOneFourBySixLabelWithAddressesCarrierServiceAndCode128Tracking()
    {
        var zpl = ZplLabelRenderer.Render(Label);

        Assert.StartsWith("^XA", zpl, StringComparison.Ordinal);
        Assert.EndsWith("^XZ\n", zpl, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(zpl, "^XA"));
        Assert.Contains("^PW812", zpl, StringComparison.Ordinal);
        Assert.Contains("^LL1218", zpl, StringComparison.Ordinal);
        Assert.Contains("^CI28", zpl, StringComparison.Ordinal);
        Assert.Contains("^BCN,220,Y,N,N^FH_^FD7023210039414604^FS", zpl, StringComparison.Ordinal);
        foreach (var expected in new[] { "STATESET MISSISSAUGA DC", "6300 KENNEDY RD", "MISSISSAUGA ON L5T 2X5", "ÉMILE NELLIGAN", "MONTRÉAL QC H3A 1G5", "CANADA", "MAPLEPOST", "XPRESSPOST", "4.0 LB / 1.8 KG" })
        {
            Assert.Contains($"^FD{expected}^FS", zpl, StringComparison.Ordinal);
        }

        // Every field opened is closed.
        Assert.Equal(CountOf(zpl, "^FO"), CountOf(zpl, "^FS"));
    }

    [Fact]
    public void Zpl_CaretAndTildeInAddressText_AreHexEscapedNotReadAsCommands()
    {
        var zpl = ZplLabelRenderer.Render(Label with { To = Addresses.Montreal with { Name = "A^B~C_D" } });

        Assert.Contains("^FH_^FDA_5EB_7EC_5FD^FS", zpl, StringComparison.Ordinal);
    }

    [Fact]
    public void Code128_EverySymbolIsElevenModulesAndTheStopThirteen()
    {
        var widths = Code128.Widths("1R0123456789012345");

        // Start B + 18 data symbols + checksum = 20 symbols of 11 modules, then the 13-module stop.
        Assert.Equal((20 * 11) + 13, widths.Sum());
        Assert.Equal((20 * 6) + 7, widths.Count);
    }

    [Fact]
    public void Code128_ChecksumIsStartPlusWeightedValuesModulo103()
    {
        // "AB": start B (104) + 'A' (33) x 1 + 'B' (34) x 2 = 205; 205 mod 103 = 102.
        Assert.Equal([104, 33, 34, 102, 106], Code128.Symbols("AB"));
    }

    [Fact]
    public void Pdf_IsOneFourBySixInchPage_WithItsFontsEmbedded()
    {
        var pdf = PdfLabelRenderer.Render(Label);

        Assert.StartsWith("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5), StringComparison.Ordinal);
        using var document = PdfDocument.Open(pdf);
        Assert.Equal(1, document.NumberOfPages);
        var page = document.GetPage(1);
        Assert.Equal((288.0, 432.0), (page.Width, page.Height));
        Assert.Equal("MAPLEPOST 7023210039414604", document.Information.Title);

        // Embedded faces, so a printer or reader without DejaVu prints the same label.
        Assert.All(page.Letters, letter => Assert.Contains("+", letter.FontName, StringComparison.Ordinal));
    }

    [Fact]
    public void Pdf_SameLabel_SameBytes()
    {
        var issued = Label with { IssuedAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero) };

        Assert.Equal(PdfLabelRenderer.Render(issued), PdfLabelRenderer.Render(issued));
        Assert.NotEqual(PdfLabelRenderer.Render(issued), PdfLabelRenderer.Render(issued with { TrackingNumber = "7023210039414605" }));
    }

    [Fact]
    public void Pdf_ShowsTheSameTextAsTheZpl()
    {
        var label = Label with { To = Addresses.Montreal with { Name = "Smith (Rear) ^~_" } };
        var zplFields = FieldTexts(ZplLabelRenderer.Render(label));

        using var document = PdfDocument.Open(PdfLabelRenderer.Render(label));
        var pdfLines = TextLines(document.GetPage(1));

        Assert.Equal(zplFields.Order(StringComparer.Ordinal), pdfLines.Order(StringComparer.Ordinal));
        Assert.Contains("SMITH (REAR) ^~_", pdfLines);
        Assert.Contains("MONTRÉAL QC H3A 1G5", pdfLines);
    }

    [Fact]
    public void Pdf_TrackingBarcode_IsDrawnCode128BarsThatDecodeToTheTrackingNumber()
    {
        using var document = PdfDocument.Open(PdfLabelRenderer.Render(Label));
        var page = document.GetPage(1);

        // The bars are the filled shapes taller than a rule; their left edges and widths give bars and spaces.
        var bars = page.Paths
            .Where(path => path.IsFilled)
            .Select(path => path.GetBoundingRectangle()!.Value)
            .Where(box => box.Height > 50)
            .OrderBy(box => box.Left)
            .ToList();
        Assert.NotEmpty(bars);
        var expected = Code128.Widths(Label.TrackingNumber);
        var module = (bars[^1].Right - bars[0].Left) / expected.Sum();
        var measured = new List<int>();
        for (var i = 0; i < bars.Count; i++)
        {
            measured.Add((int)Math.Round(bars[i].Width / module));
            if (i + 1 < bars.Count)
            {
                measured.Add((int)Math.Round((bars[i + 1].Left - bars[i].Right) / module));
            }
        }

        Assert.Equal(expected, measured);
    }

    // The texts a ZPL label prints: every ^FD field (hex escapes decoded), the barcode's interpretation line included.
    private static List<string> FieldTexts(string zpl) =>
        [.. zpl.Split("^FD").Skip(1).Select(field => field[..field.IndexOf("^FS", StringComparison.Ordinal)])
            .Select(text => text.Replace("_5E", "^", StringComparison.Ordinal).Replace("_7E", "~", StringComparison.Ordinal).Replace("_5F", "_", StringComparison.Ordinal))];

    // Words on one baseline form a line unless a wide gap separates them (carrier and weight share a baseline).
    private static List<string> TextLines(Page page)
    {
        var lines = new List<string>();
        foreach (var row in page.GetWords().GroupBy(word => Math.Round(word.Letters[0].StartBaseLine.Y)))
        {
            var line = new StringBuilder();
            double? right = null;
            foreach (var word in row.OrderBy(word => word.BoundingBox.Left))
            {
                if (right is { } end && word.BoundingBox.Left - end > 20)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                }

                line.Append(line.Length > 0 ? " " : string.Empty).Append(word.Text);
                right = word.BoundingBox.Right;
            }

            lines.Add(line.ToString());
        }

        return lines;
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
