using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Jit;
using SharpBpf.Linux;
using SharpBpf.Linux.Objects;
using SharpBpf.Maps;
using SharpBpf.Objects;
using SharpBpf.Runtime;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf run OBJECT [--program NAME] (--pcap FILE | --packet HEX...) [--repeat N] [--out FILE.pcap] [--json]
/// [--engine jit|interpreter] [--no-verify] [--stats]</c>: instantiates a clang-compiled object in the VM (maps created, <c>.rodata</c> and
/// map elements set from the command line), runs an XDP, socket filter or tc program over every packet, prints each
/// verdict, writes the packets that go on to a pcap file, and ends with every map's contents (as
/// <c>bpftool map dump</c> prints them), the ring buffer and perf events, and the <c>bpf_trace_printk</c> lines.
/// </summary>
/// <remarks>
/// <para>
/// The program is verified first (<see cref="Verification.Verifier"/>): an accepted one runs in unchecked mode (the
/// accesses the verifier proved run without region checks), a rejected one is refused as the kernel would refuse it.
/// <c>--no-verify</c> skips the verifier and runs the checked engine; <c>--stats</c> adds the verification and JIT
/// compile times and the time per run.
/// </para>
/// <para>
/// <c>--out</c> keeps only the packets the program lets through (XDP_PASS, XDP_TX, XDP_REDIRECT; every tc action but
/// TC_ACT_SHOT and TC_ACT_STOLEN; a socket filter's non-zero result, cut to the length it returned), as they left the
/// program (after <c>bpf_xdp_adjust_head/tail</c>, with tc rewrites), with their original timestamps; dropped and
/// refused packets are omitted, so the file is what the next hop would see.
/// </para>
/// </remarks>
internal static class RunCommand
{
    private const int MaxEventsShown = 1000;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("OBJECT") { Description = "A BPF ELF object (clang -target bpf)." };
        var program = new Option<string?>("--program", "-p") { Description = "The program to run (default: the first XDP, socket filter or tc program)." };
        var pcap = new Option<FileInfo?>("--pcap") { Description = "Run over every packet of this capture (pcap or pcapng, Ethernet)." };
        var packet = new Option<string[]>("--packet")
        {
            Description = "Run over this packet, in hex from its Ethernet header (repeatable).",
            Arity = ArgumentArity.OneOrMore,
        };
        var repeat = new Option<int>("--repeat") { Description = "Run each packet this many times (maps accumulate).", DefaultValueFactory = _ => 1 };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the packets that go on (dropped ones omitted) to this pcap file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of text." };
        var engine = CommonOptions.Engine();
        engine.Description = "The engine that runs the program: the JIT (the default) or the interpreter.";
        engine.DefaultValueFactory = _ => "jit";
        var noVerify = new Option<bool>("--no-verify")
        {
            Description = "Do not verify the program first; run it in the checked engine (every memory access checked).",
        };
        var stats = new Option<bool>("--stats") { Description = "Report the verification and JIT compile times and the time per run." };
        var cpus = new Option<int>("--cpus") { Description = "Possible CPUs: values per element of per-CPU maps.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var updates = new Option<string[]>("--map-update")
        {
            Description = "Before running, set a map element: MAP:KEY=VALUE, both in hex (repeatable; per-CPU maps get the value on every CPU).",
            Arity = ArgumentArity.OneOrMore,
        };
        var rodata = new Option<string[]>("--rodata")
        {
            Description = "Before loading, patch .rodata (const volatile configuration): OFFSET=HEX (repeatable).",
            Arity = ArgumentArity.OneOrMore,
        };
        var kernel = new Option<bool>("--kernel")
        {
            Description = "Run in the running kernel (BPF_PROG_TEST_RUN; Linux, root) instead of the VM, with the same output, so the two can be diffed.",
        };
        var command = new Command("run", "Run a program of a BPF object over packets in the VM and show verdicts, maps and events.")
        {
            file, program, pcap, packet, repeat, output, json, engine, noVerify, stats, cpus, updates, rodata, kernel,
        };
        command.SetAction(parse => new Runner(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error)
        {
            ObjectPath = parse.GetRequiredValue(file).FullName,
            ProgramName = parse.GetValue(program),
            PcapPath = parse.GetValue(pcap)?.FullName,
            HexPackets = parse.GetValue(packet) ?? [],
            Repeat = parse.GetValue(repeat),
            OutputPath = parse.GetValue(output)?.FullName,
            Json = parse.GetValue(json),
            Engine = parse.GetValue(engine) == "jit" ? EngineKind.Jit : EngineKind.Interpreter,
            Cpus = parse.GetValue(cpus),
            MapUpdates = parse.GetValue(updates) ?? [],
            ReadOnlyPatches = parse.GetValue(rodata) ?? [],
            InKernel = parse.GetValue(kernel),
            Verify = !parse.GetValue(noVerify),
            Stats = parse.GetValue(stats),
        }.Run());
        return command;
    }

    /// <summary>Bad command-line input for <c>run</c> (reported as a one-line error, exit code 2).</summary>
    internal sealed class RunInputException(string message) : BpfException(message);

    private sealed class Runner(TextWriter output, TextWriter error)
    {
        private readonly Dictionary<string, int> _verdicts = new(StringComparer.Ordinal);
        private readonly List<object> _packetRecords = [];
        private long _packets;
        private int _faults;

        public required string ObjectPath { get; init; }

        public string? ProgramName { get; init; }

        public string? PcapPath { get; init; }

        public required string[] HexPackets { get; init; }

        public int Repeat { get; init; }

        public string? OutputPath { get; init; }

        public bool Json { get; init; }

        public EngineKind Engine { get; init; }

        public int Cpus { get; init; }

        public required string[] MapUpdates { get; init; }

        public required string[] ReadOnlyPatches { get; init; }

        public bool InKernel { get; init; }

        public bool Verify { get; init; }

        public bool Stats { get; init; }

        private KernelObject? _kernel;
        private VmProgram? _program;
        private TimeSpan _firstRun;
        private TimeSpan _allRuns;
        private long _runs;
        private KernelProgram? _kernelProgram;

        public int Run()
        {
            if ((PcapPath is null) == (HexPackets.Length == 0))
            {
                throw new RunInputException("give the packets with either --pcap FILE or --packet HEX (not both)");
            }

            if (Repeat < 1)
            {
                throw new RunInputException($"--repeat must be at least 1, not {Repeat}");
            }

            if (Cpus is < 1 or > 4096)
            {
                throw new RunInputException($"--cpus must be between 1 and 4096, not {Cpus}");
            }

            var packets = HexPackets.Select((hex, i) => new CapturePacket(i, 0, 0, 0, 0, ParseHex(hex, $"--packet #{i + 1}"))).ToList();
            var obj = BpfObject.Load(ObjectPath);
            foreach (var patch in ReadOnlyPatches)
            {
                ApplyReadOnlyPatch(obj, patch);
            }

            if (InKernel && KernelSupport.Status is { IsSupported: false } or { HasPrivilege: false })
            {
                throw new RunInputException($"--kernel needs privileged bpf(): {KernelSupport.Status.Reason}");
            }

            // With --kernel the VM object only holds what the kernel's maps contain at the end, for printing: its
            // per-CPU values then need the kernel's CPU count.
            int cpus = InKernel ? LinuxSystem.PossibleCpuCount : Cpus;
            // The kernel verifies what it loads itself; the VM only holds its maps for printing then.
            bool verify = Verify && !InKernel;
            using var vm = new VmObject(obj, new VmObjectOptions
            {
                Engine = Engine,
                PossibleCpus = cpus,
                Verify = verify,
                Safety = verify ? SafetyMode.Unchecked : SafetyMode.Checked,
            });
            using var kernel = InKernel ? KernelObject.Load(obj) : null;
            _kernel = kernel;
            var (program, automatic) = SelectProgram(vm);
            _program = program;
            if (program.Verification is { Accepted: false } rejected)
            {
                error.WriteLine($"sharpbpf: the verifier rejects program '{program.Name}': {rejected.Error} (as the kernel would refuse to load it; --no-verify runs it in the checked engine)");
                return 1;
            }

            _kernelProgram = kernel?.Program(program.Name);
            foreach (var update in MapUpdates)
            {
                ApplyMapUpdate(vm, update, kernel);
            }

            if (!Json)
            {
                output.WriteLine($"{Path.GetFileName(ObjectPath)}: program {program.Name} (SEC(\"{program.Source.SectionName}\"), {program.Type})" +
                    (automatic ? ", the first program that runs on packets" : "") + $"; engine {EngineName}");
            }

            using var writer = OutputPath is null ? null : new PcapWriter(File.Create(OutputPath));
            var progress = Progress.Create(error);
            try
            {
                if (PcapPath is not null)
                {
                    using var reader = CaptureReader.Open(PcapPath);
                    foreach (var frame in reader.ReadAll())
                    {
                        RunOne(vm, program, frame, writer);
                        progress?.Update(_packets);
                    }
                }
                else
                {
                    foreach (var frame in packets)
                    {
                        RunOne(vm, program, frame, writer);
                    }
                }
            }
            finally
            {
                progress?.Clear();
            }

            var events = kernel is null ? vm.DrainEvents() : CopyKernelState(kernel, vm);
            if (Json)
            {
                WriteJson(vm, program, automatic, events);
            }
            else
            {
                WriteText(vm, events, writer);
                if (Stats)
                {
                    WriteStats();
                }
            }

            return _faults > 0 ? 1 : 0;
        }

        private (VmProgram Program, bool Automatic) SelectProgram(VmObject vm)
        {
            VmProgram program;
            bool automatic = ProgramName is null;
            if (ProgramName is not null)
            {
                program = vm.Program(ProgramName);
            }
            else
            {
                program = vm.Programs.FirstOrDefault(p => p.PacketKind != PacketContextKind.None)
                    ?? throw new RunInputException($"the object has no program that runs on packets (XDP, socket filter or tc); it has {string.Join(", ", vm.Programs.Select(p => $"{p.Name} ({p.Type})"))}");
            }

            if (program.PacketKind == PacketContextKind.None)
            {
                throw new RunInputException($"program '{program.Name}' is a {program.Type} program; run executes XDP, socket filter and tc programs on packets");
            }

            if (program.Executable is null && !InKernel)
            {
                throw new RunInputException($"program '{program.Name}' cannot run in the VM: {program.BuildError}");
            }

            return (program, automatic);
        }

        private void RunOne(VmObject vm, VmProgram program, CapturePacket frame, PcapWriter? writer)
        {
            PacketRunResult? result = null;
            string? fault = null;
            try
            {
                if (_kernelProgram is not null)
                {
                    result = KernelRun(program.PacketKind, frame.Data);
                }
                else
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < Repeat; i++)
                    {
                        result = vm.RunPacket(program, frame.Data);
                        if (_runs++ == 0)
                        {
                            _firstRun = Stopwatch.GetElapsedTime(start);
                        }
                    }

                    _allRuns += Stopwatch.GetElapsedTime(start);
                }
            }
            catch (BpfExecutionException e)
            {
                fault = e.Fault.Message;
                _faults++;
            }

            _packets++;
            string verdict = fault is not null ? "FAULT" : result!.Verdict;
            _verdicts[verdict] = _verdicts.GetValueOrDefault(verdict) + 1;
            bool modified = result is { Ran: true } && !result.Packet.AsSpan().SequenceEqual(frame.Data);
            if (Json)
            {
                _packetRecords.Add(new
                {
                    index = frame.Index,
                    length = frame.Data.Length,
                    verdict,
                    return_value = result is { Ran: true } ? result.ReturnValue : (ulong?)null,
                    refused = result?.Refusal,
                    fault,
                    modified,
                    output_length = result is { Ran: true } ? result.Packet.Length : (int?)null,
                    redirect = result?.Redirect is { } r ? new { ifindex = r.Ifindex, map_handle = r.MapHandle, key = r.Key, flags = r.Flags } : null,
                });
            }
            else
            {
                var line = new StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"{frame.Index,6}  {frame.Data.Length,5} B  {verdict}");
                if (result?.Refusal is { } refusal)
                {
                    line.Append(" (").Append(refusal).Append(')');
                }

                if (fault is not null)
                {
                    line.Append(": ").Append(fault);
                }

                if (result?.Redirect is { } redirect)
                {
                    line.Append(redirect.Ifindex is { } ifindex ? $"  redirect to ifindex {ifindex}" : $"  redirect through a map, key {redirect.Key}");
                }

                if (modified)
                {
                    line.Append(result!.Packet.Length == frame.Data.Length ? "  (rewritten)" : $"  (rewritten, now {result.Packet.Length} B)");
                }

                output.WriteLine(line.ToString());
            }

            if (writer is not null && result is { Delivered: true })
            {
                var bytes = result.Kind == PacketContextKind.SocketFilter
                    ? result.Packet.AsSpan(0, (int)Math.Min(result.Packet.Length, 14 + (long)(uint)result.ReturnValue))
                    : result.Packet;
                writer.Write(bytes, Math.Max(0, frame.TimestampNanoseconds), bytes.Length);
            }
        }

        private void WriteText(VmObject vm, IReadOnlyList<MapEvent> events, PcapWriter? writer)
        {
            output.WriteLine($"{_packets} packet{(_packets == 1 ? "" : "s")}" + (Repeat > 1 ? $" (each run {Repeat} times)" : "") + ": " +
                string.Join(", ", _verdicts.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key} {v.Value}")));
            if (writer is not null)
            {
                output.WriteLine($"{writer.PacketsWritten} packet{(writer.PacketsWritten == 1 ? "" : "s")} written to {OutputPath}");
            }

            foreach (var map in vm.ObjectMaps)
            {
                if (map is RingBufferMap or PerfEventArrayMap)
                {
                    continue;
                }

                output.WriteLine();
                output.WriteLine($"map {map.Name} ({map.Type}, key {map.KeySize}B, value {map.ValueSize}B, max_entries {map.MaxEntries}):");
                output.Write(Dump(vm, map, json: false));
            }

            foreach (var group in vm.ObjectMaps.Where(m => m is RingBufferMap or PerfEventArrayMap))
            {
                var records = events.Where(e => e.MapName == group.Name).ToList();
                output.WriteLine();
                output.WriteLine($"{(group is RingBufferMap ? "ring buffer" : "perf event array")} {group.Name}: {records.Count} record{(records.Count == 1 ? "" : "s")}");
                foreach (var record in records.Take(MaxEventsShown))
                {
                    output.WriteLine("  " + (record.Cpu >= 0 ? $"cpu {record.Cpu}: " : "") + Convert.ToHexStringLower(record.Data) +
                        (record.LostSamples > 0 ? $" ({record.LostSamples} lost before)" : ""));
                }

                if (records.Count > MaxEventsShown)
                {
                    output.WriteLine($"  ... {records.Count - MaxEventsShown} more (--json lists them all)");
                }
            }

            var trace = vm.TraceLog.Messages;
            output.WriteLine();
            if (InKernel)
            {
                output.WriteLine("trace_printk: in the kernel's trace buffer (/sys/kernel/tracing/trace_pipe), not collected");
                return;
            }

            output.WriteLine($"trace_printk: {(trace.Count == 0 ? "no messages" : $"{trace.Count} message{(trace.Count == 1 ? "" : "s")}")}");
            foreach (var message in trace)
            {
                output.WriteLine($"  cpu {message.ProcessorId}: {message.Message.TrimEnd('\n')}");
            }
        }

        private void WriteJson(VmObject vm, VmProgram program, bool automatic, IReadOnlyList<MapEvent> events)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteString("object", ObjectPath);
                json.WriteString("program", program.Name);
                json.WriteString("section", program.Source.SectionName);
                json.WriteString("type", program.Type.ToString());
                json.WriteBoolean("program_chosen_automatically", automatic);
                json.WriteString("engine", EngineName);
                if (Stats)
                {
                    json.WriteStartObject("stats");
                    foreach (var (name, value) in StatsFigures())
                    {
                        json.WriteNumber(name, value);
                    }

                    json.WriteEndObject();
                }

                json.WriteNumber("repeat", Repeat);
                json.WritePropertyName("packets");
                JsonSerializer.Serialize(json, _packetRecords);
                json.WritePropertyName("verdicts");
                JsonSerializer.Serialize(json, _verdicts);
                json.WriteStartArray("maps");
                foreach (var map in vm.ObjectMaps.Where(m => m is not (RingBufferMap or PerfEventArrayMap)))
                {
                    json.WriteStartObject();
                    json.WriteString("name", map.Name);
                    json.WriteString("type", map.Type.ToString());
                    json.WriteNumber("key_size", map.KeySize);
                    json.WriteNumber("value_size", map.ValueSize);
                    json.WriteNumber("max_entries", map.MaxEntries);
                    string elements = Dump(vm, map, json: true);
                    try
                    {
                        using var parsed = JsonDocument.Parse(elements);
                        json.WritePropertyName("elements");
                        parsed.RootElement.WriteTo(json);
                    }
                    catch (JsonException)
                    {
                        // bpftool's own output is not always JSON (it prints "(unsupported-kind" for floats): keep its text.
                        json.WriteString("elements_text", elements);
                    }
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("events");
                foreach (var e in events)
                {
                    json.WriteStartObject();
                    json.WriteString("map", e.MapName);
                    if (e.Cpu >= 0)
                    {
                        json.WriteNumber("cpu", e.Cpu);
                        json.WriteNumber("lost_before", e.LostSamples);
                    }

                    json.WriteString("data", Convert.ToHexStringLower(e.Data));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("trace");
                foreach (var message in vm.TraceLog.Messages)
                {
                    json.WriteStartObject();
                    json.WriteNumber("cpu", message.ProcessorId);
                    json.WriteString("message", message.Message);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteNumber("faults", _faults);
                json.WriteEndObject();
            }

            output.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        // The map as bpftool dumps it; in hex when the object's BTF does not fit the map (bpftool would refuse it).
        private static string Dump(VmObject vm, BpfMap map, bool json)
        {
            try
            {
                return json ? MapDump.FormatJson(vm, map) : MapDump.Format(vm, map);
            }
            catch (Btf.BtfFormatException)
            {
                return json ? MapDump.FormatJson(map) : MapDump.Format(map);
            }
        }

        private static void ApplyReadOnlyPatch(BpfObject obj, string patch)
        {
            int equals = patch.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !int.TryParse(patch.AsSpan(0, equals), NumberStyles.Integer, CultureInfo.InvariantCulture, out int offset))
            {
                throw new RunInputException($"--rodata '{patch}': expected OFFSET=HEX, for example 0=8c13");
            }

            try
            {
                obj.SetReadOnlyData(ParseHex(patch[(equals + 1)..], "--rodata"), offset);
            }
            catch (ArgumentException e)
            {
                throw new RunInputException($"--rodata '{patch}': {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }

        private string EngineName => InKernel ? "kernel (BPF_PROG_TEST_RUN)"
            : (Engine == EngineKind.Jit ? "jit" : "interpreter") + (_program?.IsUnchecked == true ? ", unchecked (verified)" : ", checked");

        /// <summary>The <c>--stats</c> figures, in milliseconds and nanoseconds.</summary>
        private List<(string Name, double Value)> StatsFigures()
        {
            var figures = new List<(string, double)>();
            if (_program?.Verification is { } verification)
            {
                figures.Add(("verify_ms", verification.Elapsed.TotalMilliseconds));
                figures.Add(("verify_processed_insns", verification.Statistics.Processed));
            }

            if (_program?.Executable is JittedProgram jitted)
            {
                figures.Add(("jit_compile_ms", jitted.CompileTime.TotalMilliseconds));
                figures.Add(("jit_compile_ms_per_1000_insns", jitted.CompileTime.TotalMilliseconds * 1000 / jitted.Program.Length));
            }

            if (_runs > 0)
            {
                figures.Add(("runs", _runs));
                figures.Add(("first_run_us", _firstRun.TotalMicroseconds));
                figures.Add(("ns_per_run", _allRuns.TotalNanoseconds / _runs));
            }

            return figures;
        }

        private void WriteStats()
        {
            var text = new StringBuilder("stats:");
            foreach (var (name, value) in StatsFigures())
            {
                text.Append(CultureInfo.InvariantCulture, $" {name}={value:0.###}");
            }

            output.WriteLine(text.ToString());
        }

        // One frame through BPF_PROG_TEST_RUN with the kernel's own repeat; a frame it refuses is shown as EINVAL.
        private PacketRunResult KernelRun(PacketContextKind kind, byte[] frame)
        {
            try
            {
                var run = _kernelProgram!.TestRun(new TestRunOptions { Data = frame, DataOutCapacity = 65_536 + 4096, Repeat = (uint)Repeat });
                return PacketRunResult.FromTestRun(kind, run.ReturnValue, run.Data);
            }
            catch (BpfSyscallException e) when (e.ErrorName == "EINVAL")
            {
                return PacketRunResult.RefusedByTestRun(kind, "the kernel's test run refused the frame (EINVAL)");
            }
        }

        // The kernel's maps copied into the VM object's (so they print exactly as the VM's do) and its ring buffer
        // records; maps the host may not write (a frozen .rodata) kept their load-time contents, which are the same.
        private static List<MapEvent> CopyKernelState(KernelObject kernel, VmObject vm)
        {
            var events = new List<MapEvent>();
            foreach (var entry in kernel.Maps)
            {
                if (entry.Map is not { } source)
                {
                    continue;
                }

                if (entry.Definition.Type == MapType.RingBuffer)
                {
                    using var reader = new Linux.Events.RingBufferReader(source);
                    reader.Consume(record => events.Add(new MapEvent(entry.Name, -1, record.ToArray(), 0)));
                    continue;
                }

                if (entry.Definition.Type is MapType.PerfEventArray or MapType.ProgramArray or MapType.ArrayOfMaps or MapType.HashOfMaps)
                {
                    continue;
                }

                var target = vm.Map(entry.Name);
                foreach (var key in target.Keys().ToList())
                {
                    target.Delete(key);
                }

                foreach (var key in source.Keys())
                {
                    if (source.Lookup(key) is { } value)
                    {
                        target.Update(key, value);
                    }
                }
            }

            return events;
        }

        private static void ApplyMapUpdate(VmObject vm, string update, KernelObject? kernel)
        {
            int colon = update.IndexOf(':', StringComparison.Ordinal);
            int equals = update.IndexOf('=', StringComparison.Ordinal);
            if (colon <= 0 || equals < colon)
            {
                throw new RunInputException($"--map-update '{update}': expected MAP:KEY=VALUE with KEY and VALUE in hex");
            }

            var map = vm.Map(update[..colon]);
            var key = ParseHex(update[(colon + 1)..equals], "--map-update key");
            var value = ParseHex(update[(equals + 1)..], "--map-update value");
            if (key.Length != map.KeySize || value.Length != map.ValueSize)
            {
                throw new RunInputException($"--map-update '{update}': map '{map.Name}' takes a {map.KeySize}-byte key and a {map.ValueSize}-byte value, not {key.Length} and {value.Length}");
            }

            var values = PerCpuValues.OnEveryCpu(map, value);
            var result = map.Update(key, values);
            if (result != MapResult.Success)
            {
                throw new RunInputException($"--map-update '{update}': the update failed with {result.ToErrnoName()}");
            }

            kernel?.Map(map.Name).Update(key, values);
        }

        private static byte[] ParseHex(string text, string what)
        {
            var digits = new StringBuilder(text.Length);
            foreach (char c in text)
            {
                if (!char.IsWhiteSpace(c))
                {
                    digits.Append(c);
                }
            }

            try
            {
                return Convert.FromHexString(digits.ToString());
            }
            catch (FormatException)
            {
                throw new RunInputException($"{what}: '{text}' is not hex bytes (an even number of 0-9, a-f digits)");
            }
        }
    }

    /// <summary>A packet counter on stderr, redrawn in place, only when stderr is a terminal.</summary>
    private sealed class Progress
    {
        private readonly TextWriter _error;
        private readonly Stopwatch _timer = Stopwatch.StartNew();
        private long _lastDraw = -1;
        private bool _drawn;

        private Progress(TextWriter error) => _error = error;

        public static Progress? Create(TextWriter error) =>
            ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected ? new Progress(error) : null;

        public void Update(long packets)
        {
            long now = _timer.ElapsedMilliseconds;
            if (now - _lastDraw < 200)
            {
                return;
            }

            _lastDraw = now;
            double rate = packets / Math.Max(_timer.Elapsed.TotalSeconds, 1e-3);
            _error.Write($"\r{packets} packets, {rate:F0}/s   ");
            _drawn = true;
        }

        public void Clear()
        {
            if (_drawn)
            {
                _error.Write("\r" + new string(' ', 40) + "\r");
            }
        }
    }
}
