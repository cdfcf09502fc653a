using System.Text;

namespace Stateset.Activities.Shipping.Rendering;

/// <summary>
/// Renders a 4x6 inch label in ZPL II for 203 dpi thermal printers (812 x 1218 dots): sender, recipient,
/// carrier and service, and the tracking number as a Code 128 barcode (<c>^BC</c>) with its text underneath.
/// </summary>
public static class ZplLabelRenderer
{
    /// <summary>Width of a 4 inch label at 203 dpi.</summary>
    public const int WidthDots = 812;

    /// <summary>Height of a 6 inch label at 203 dpi.</summary>
    public const int HeightDots = 1218;

    /// <summary>Renders the label.</summary>
    public static string Render(LabelDocument label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var zpl = new StringBuilder();
        zpl.Append("^XA\n");
        zpl.Append("^CI28\n"); // UTF-8 field data, so Québec and Montréal print as written
        zpl.Append($"^PW{WidthDots}\n^LL{HeightDots}\n^LH0,0\n");

        zpl.Append("^FO30,25^A0N,24,24^FDFROM^FS\n");
        var y = 55;
        foreach (var line in LabelDocument.Lines(label.From))
        {
            Text(zpl, 30, y, 26, line);
            y += 30;
        }

        zpl.Append("^FO0,240^GB812,4,4^FS\n");
        zpl.Append("^FO30,260^A0N,30,30^FDSHIP TO^FS\n");
        y = 300;
        foreach (var line in LabelDocument.Lines(label.To))
        {
            Text(zpl, 60, y, 44, line);
            y += 52;
        }

        zpl.Append("^FO0,600^GB812,4,4^FS\n");
        Text(zpl, 30, 630, 64, label.Carrier.ToUpperInvariant());
        Text(zpl, 30, 705, 40, label.Service.ToUpperInvariant());
        Text(zpl, 500, 640, 28, label.WeightText);
        zpl.Append("^FO0,770^GB812,4,4^FS\n");

        zpl.Append("^FO30,790^A0N,26,26^FDTRACKING #^FS\n");
        // Narrower modules for long tracking numbers keep the barcode inside the 4 inch width.
        var module = label.TrackingNumber.Length <= 18 ? 3 : 2;
        zpl.Append($"^FO60,830^BY{module},3,220^BCN,220,Y,N,N^FH_^FD").Append(Escape(label.TrackingNumber)).Append("^FS\n");
        zpl.Append("^FO0,1120^GB812,4,4^FS\n");
        Text(zpl, 30, 1140, 24, $"SHIPMENT {label.ShipmentId}");
        zpl.Append("^XZ\n");
        return zpl.ToString();
    }

    private static void Text(StringBuilder zpl, int x, int y, int height, string text) =>
        zpl.Append($"^FO{x},{y}^A0N,{height},{height}^FH_^FD").Append(Escape(text)).Append("^FS\n");

    // ^ and ~ start ZPL commands even inside field data; with ^FH_ they are written as hex escapes instead.
    private static string Escape(string text) => text
        .Replace("_", "_5F", StringComparison.Ordinal)
        .Replace("^", "_5E", StringComparison.Ordinal)
        .Replace("~", "_7E", StringComparison.Ordinal);
}
