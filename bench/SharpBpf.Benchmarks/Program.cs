using BenchmarkDotNet.Running;

// Run all benchmarks with: dotnet run -c Release --project bench/SharpBpf.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type, for BenchmarkSwitcher.</summary>
internal sealed partial class Program;
