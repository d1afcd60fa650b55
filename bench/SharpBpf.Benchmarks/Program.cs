using BenchmarkDotNet.Running;

// Run all benchmarks with: dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*'
// The thread CPU clock reads this process's thread: only for benchmarks run in this process.
SharpBpf.Benchmarks.ThreadCpuClock.InProcess = args.Any(a => a.Equals("--inProcess", StringComparison.OrdinalIgnoreCase) || a == "-i");
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type, for BenchmarkSwitcher.</summary>
internal sealed partial class Program;
