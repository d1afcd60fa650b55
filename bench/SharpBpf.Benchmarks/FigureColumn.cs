using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SharpBpf.Benchmarks;

/// <summary>A numeric column computed from a benchmark case and its mean time per invocation (ns); "-" when not available.</summary>
internal sealed class FigureColumn(string name, string legend, Func<BenchmarkCase, double, double?> value) : IColumn
{
    public string Id => "Figure:" + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || value(benchmarkCase, report.ResultStatistics.Mean) is not { } figure)
        {
            return "-";
        }

        return figure.ToString(figure >= 100 ? "N0" : figure >= 1 ? "0.00" : "0.0000", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
