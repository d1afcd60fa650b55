using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SharpBpf.Benchmarks;

/// <summary>
/// A column that prints, for each benchmark with a reference figure, the ratio of its mean to that reference
/// ("0.5x" = twice as fast as the reference). Benchmarks report per-instruction or per-packet times through
/// OperationsPerInvoke, so the mean and the reference are in the same unit.
/// </summary>
/// <param name="header">The column header, naming the reference.</param>
/// <param name="referenceNanoseconds">The reference time of a benchmark case, or null when it has none.</param>
internal sealed class ReferenceColumn(string header, Func<BenchmarkCase, double?> referenceNanoseconds) : IColumn
{
    public string Id => "Reference:" + header;

    public string ColumnName => header;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Mean divided by the reference time ({header}); below 1 is faster than the reference";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (referenceNanoseconds(benchmarkCase) is not { } reference || report?.ResultStatistics is null)
        {
            return "-";
        }

        double ratio = report.ResultStatistics.Mean / reference;
        return ratio.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "x";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
