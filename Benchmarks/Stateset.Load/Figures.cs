using System.Globalization;

namespace Stateset.Load;

/// <summary>A run's figures as rows of label and value, in print order, so several runs print side by side.</summary>
internal sealed class Figures(string title)
{
    private readonly List<(string Label, string Value)> _rows = [];

    /// <summary>Gets what was measured (the checkout and its commit).</summary>
    public string Title { get; } = title;

    /// <summary>Gets the rows.</summary>
    public IReadOnlyList<(string Label, string Value)> Rows => _rows;

    /// <summary>Prints several runs as columns, one row per figure any of them has.</summary>
    public static void PrintSideBySide(IReadOnlyList<Figures> runs)
    {
        var labels = runs.SelectMany(r => r.Rows.Select(row => row.Label)).Distinct().ToList();
        var width = Math.Max(24, labels.Max(l => l.Length) + 2);
        var column = Math.Max(18, runs.Max(r => Math.Max(r.Title.Length, r.Rows.Count == 0 ? 0 : r.Rows.Max(row => row.Value.Length))) + 2);
        Console.WriteLine();
        Console.WriteLine(string.Empty.PadRight(width) + string.Concat(runs.Select(r => r.Title.PadLeft(column))));
        foreach (var label in labels)
        {
            Console.WriteLine(label.PadRight(width) + string.Concat(runs.Select(r => (r.Rows.FirstOrDefault(row => row.Label == label).Value ?? "-").PadLeft(column))));
        }
    }

    /// <summary>Adds a row.</summary>
    public void Add(string label, string value) => _rows.Add((label, value));

    /// <summary>Adds a row with a number.</summary>
    public void Add(string label, double value, string format, string unit = "") =>
        _rows.Add((label, value.ToString(format, CultureInfo.InvariantCulture) + unit));

    /// <summary>Prints this run alone.</summary>
    public void Print()
    {
        var width = Math.Max(24, _rows.Max(r => r.Label.Length) + 2);
        Console.WriteLine();
        Console.WriteLine(Title);
        foreach (var (label, value) in _rows)
        {
            Console.WriteLine($"  {label.PadRight(width)}{value}");
        }
    }
}
