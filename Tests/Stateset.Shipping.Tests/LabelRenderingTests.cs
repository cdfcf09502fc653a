using System.Diagnostics;
using System.Globalization;
using System.Text;
using Stateset.Activities.Shipping.Rendering;

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
    public void Pdf_IsAOnePageFourBySixInchPdfWithACorrectCrossReferenceTable()
    {
        var pdf = PdfLabelRenderer.Render(Label);
        var text = Encoding.Latin1.GetString(pdf);

        Assert.StartsWith("%PDF-1.4\n", text, StringComparison.Ordinal);
        Assert.EndsWith("%%EOF\n", text, StringComparison.Ordinal);
        Assert.Contains("/Count 1", text, StringComparison.Ordinal);
        Assert.Contains("/MediaBox [0 0 288 432]", text, StringComparison.Ordinal);

        // startxref points at the xref table, and every entry points at the object it numbers.
        var startxref = int.Parse(text[(text.LastIndexOf("startxref\n", StringComparison.Ordinal) + 10)..].Split('\n')[0], CultureInfo.InvariantCulture);
        Assert.StartsWith("xref\n0 9\n", text[startxref..], StringComparison.Ordinal);
        var entries = text[startxref..].Split('\n').Skip(3).Take(8).ToList();
        for (var i = 0; i < entries.Count; i++)
        {
            var offset = int.Parse(entries[i][..10], CultureInfo.InvariantCulture);
            Assert.StartsWith($"{i + 1} 0 obj\n", text[offset..], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Pdf_NeedsNoFontFilesAndIsDeterministic()
    {
        var pdf = PdfLabelRenderer.Render(Label);
        var text = Encoding.Latin1.GetString(pdf);

        // Standard fonts only: nothing embedded, nothing looked up on the worker's disk.
        Assert.DoesNotContain("/FontFile", text, StringComparison.Ordinal);
        Assert.Contains("/BaseFont /Helvetica", text, StringComparison.Ordinal);
        Assert.Equal(pdf, PdfLabelRenderer.Render(Label));
        // Accented letters are WinAnsi octal escapes, parentheses are escaped.
        Assert.Contains(@"(\311MILE NELLIGAN)", text, StringComparison.Ordinal);
        var odd = Encoding.Latin1.GetString(PdfLabelRenderer.Render(Label with { To = Addresses.Montreal with { Name = "Smith (Rear)" } }));
        Assert.Contains(@"(SMITH \(REAR\))", odd, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pdf_TextIsExtractable_WhenPdftotextIsInstalled()
    {
        const string pdftotext = "/usr/bin/pdftotext";
        if (!File.Exists(pdftotext))
        {
            // poppler-utils is a convenience on developer machines; the structural test above always runs.
            return;
        }

        var path = Path.Combine(Path.GetTempPath(), $"label-{Guid.NewGuid():N}.pdf");
        await File.WriteAllBytesAsync(path, PdfLabelRenderer.Render(Label));
        try
        {
            using var process = Process.Start(new ProcessStartInfo(pdftotext, [path, "-"]) { RedirectStandardOutput = true })!;
            var text = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.Equal(0, process.ExitCode);
            foreach (var expected in new[] { "SHIP TO", "ÉMILE NELLIGAN", "MONTRÉAL QC H3A 1G5", "MAPLEPOST", "XPRESSPOST", "7023210039414604" })
            {
                Assert.Contains(expected, text, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(path);
        }
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
