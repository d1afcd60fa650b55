using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Linux.Tests.Verification;

/// <summary>The kernel's verdict on one program of an object.</summary>
/// <param name="Loaded">Whether the program could be submitted at all (its maps created, its type known).</param>
/// <param name="Accepted">Whether the kernel's verifier accepted it.</param>
/// <param name="Error">The kernel's error line (the last log line before the statistics), or a reason it was not submitted.</param>
/// <param name="Processed">The kernel's processed instruction count, or -1.</param>
/// <param name="Log">The kernel's log (level 1) when it rejected the program.</param>
internal sealed record KernelVerdict(bool Loaded, bool Accepted, string? Error, int Processed, string? Log = null);

/// <summary>
/// Loads the programs of a <see cref="BpfObject"/> into the running kernel the way libbpf would (maps created, map
/// references replaced by descriptors, global data written and read-only sections frozen), for verifier comparisons.
/// </summary>
internal sealed class KernelObjectLoading : IDisposable
{
    private const uint RdonlyProgFlag = 0x80;
    private readonly BpfObject _obj;
    private readonly List<KernelMap?> _maps = [];
    private readonly string?[] _mapErrors;

    public KernelObjectLoading(BpfObject obj)
    {
        _obj = obj;
        _mapErrors = new string?[obj.Maps.Count];
        for (int i = 0; i < obj.Maps.Count; i++)
        {
            try
            {
                _maps.Add(CreateMap(obj.Maps[i]));
            }
            catch (BpfException e)
            {
                _maps.Add(null);
                _mapErrors[i] = $"map {obj.Maps[i].Name}: {e.Message}";
            }
        }
    }

    private KernelMap CreateMap(MapDefinition def)
    {
        if (def.RequiresBtf)
        {
            throw new BpfException("needs BTF");
        }

        uint max = def.MaxEntries;
        if (def.Type == MapType.PerfEventArray && max == 0)
        {
            max = (uint)Environment.ProcessorCount;
        }

        uint flags = def.Flags;
        if (def.Kind == MapDefinitionKind.GlobalData && def.IsReadOnly)
        {
            flags |= RdonlyProgFlag;
        }

        KernelMap? inner = null;
        try
        {
            if (def.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
            {
                var template = def.InnerMap ?? (def.Kind == MapDefinitionKind.Legacy && def.InnerMapIndex < _obj.Maps.Count ? _obj.Maps[(int)def.InnerMapIndex] : null)
                    ?? _obj.Maps.FirstOrDefault(m => m.Kind == MapDefinitionKind.Iproute2 && m.Id == def.InnerId && m != def)
                    ?? throw new BpfException("no inner map template");
                inner = CreateMap(template);
            }

            var map = KernelMap.Create(new MapCreateOptions
            {
                Type = def.Type,
                KeySize = def.KeySize,
                ValueSize = def.ValueSize,
                MaxEntries = max,
                Flags = (MapCreateFlags)(flags & ~0x100u),
                InnerMap = inner?.Handle,
                MapExtra = def.MapExtra,
            });
            if (def.Kind == MapDefinitionKind.GlobalData && def.InitialValue is { } value)
            {
                map.Update(BitConverter.GetBytes(0), value.Span);
                if (def.IsReadOnly)
                {
                    map.Freeze();
                }
            }

            return map;
        }
        finally
        {
            inner?.Dispose();
        }
    }

    /// <summary>Loads one program; the kernel's verdict with its processed count (log level 1).</summary>
    public KernelVerdict Load(ObjectProgram program, ProgramType type)
    {
        if (type == ProgramType.Unspecified)
        {
            return new KernelVerdict(false, false, "program type unknown from the section name", -1);
        }

        var insns = (Instruction[])program.Instructions.Clone();
        for (int pc = 0; pc < insns.Length; pc++)
        {
            if (!insns[pc].IsLoadImm64)
            {
                continue;
            }

            if (insns[pc].Imm64Source is Imm64Source.MapFd or Imm64Source.MapValue)
            {
                int index = insns[pc].Immediate;
                if (index < 0 || index >= _maps.Count || _maps[index] is null)
                {
                    return new KernelVerdict(false, false, index >= 0 && index < _mapErrors.Length ? _mapErrors[index] : "bad map index", -1);
                }

                insns[pc] = insns[pc].WithImmediate(_maps[index]!.Handle.Fd);
            }

            pc++;
        }

        try
        {
            using var loaded = KernelProgram.Load(new ProgramLoadOptions
            {
                Type = type,
                Instructions = insns,
                License = _obj.License.Length > 0 ? _obj.License : "GPL",
                Name = KernelProgram.KernelName("sb_" + program.Name),
                LogLevel = 1,
                ExpectedAttachType = program.ExpectedAttachType ?? default,
                KernelVersion = _obj.KernelVersion ?? 0,
            });
            return new KernelVerdict(true, true, null, Processed(loaded.VerifierLog));
        }
        catch (BpfSyscallException e)
        {
            if (e.VerifierLog is { Length: > 0 } log && !IsSetupError(ErrorLine(log)))
            {
                return new KernelVerdict(true, false, ErrorLine(log), Processed(log), log);
            }

            return new KernelVerdict(false, false, e.VerifierLog is { } l ? ErrorLine(l) : e.Message, -1);
        }
    }

    private static int _pinCounter;

    /// <summary>
    /// Loads the whole object with bpftool (libbpf: BTF, func_info, attach targets), returning each program's processed
    /// count by kernel name, or null when libbpf refuses the object (then programs are loaded one by one). Pins are removed.
    /// </summary>
    public static Dictionary<string, int>? LoadAllWithBpftool(string file)
    {
        if (!Kernel.Bpftool.IsInstalled)
        {
            return null;
        }

        // Pins go to /sys/fs/bpf, or to a bpffs of our own when none is mounted there.
        string? ownMount = BpfFileSystem.IsMounted() ? null : Path.Combine(Path.GetTempPath(), $"sb_verify_fs_{Environment.ProcessId}_{Guid.NewGuid():N}");
        if (ownMount is not null)
        {
            BpfFileSystem.EnsureMounted(ownMount);
        }

        string dir = Path.Combine(ownMount ?? "/sys/fs/bpf", $"sb_verify_{Environment.ProcessId}_{Interlocked.Increment(ref _pinCounter)}");
        Directory.CreateDirectory(dir);
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("bpftool") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "prog", "loadall", file, dir })
            {
                start.ArgumentList.Add(a);
            }

            using (var process = System.Diagnostics.Process.Start(start)!)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                if (!process.WaitForExit(120_000))
                {
                    process.Kill();
                    return null;
                }

                _ = stdout.Result + stderr.Result;
                if (process.ExitCode != 0)
                {
                    return null;
                }
            }

            var result = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var pin in Directory.GetFiles(dir))
            {
                using var program = KernelProgram.FromPin(pin);
                var info = program.GetInfo(includeArrays: false);
                result[info.Name] = (int)info.VerifiedInstructions;
            }

            return result;
        }
        finally
        {
            foreach (var pin in Directory.GetFiles(dir))
            {
                File.Delete(pin);
            }

            Directory.Delete(dir);
            if (ownMount is not null)
            {
                BpfFileSystem.Unmount(ownMount);
                Directory.Delete(ownMount);
            }
        }
    }

    /// <summary>Errors about what the loader did not provide (BTF, attach targets) rather than the program's safety.</summary>
    private static bool IsSetupError(string? line) =>
        line is not null && (line.Contains("btf", StringComparison.OrdinalIgnoreCase) || line.Contains("attach", StringComparison.Ordinal));

    /// <summary>The kernel's error line: the last non-empty log line before the statistics.</summary>
    public static string? ErrorLine(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            if (!lines[i].StartsWith("processed ", StringComparison.Ordinal) && !lines[i].StartsWith("verification time", StringComparison.Ordinal) &&
                !lines[i].StartsWith("stack depth", StringComparison.Ordinal))
            {
                // A few kernel messages lack their newline and run into the statistics line.
                int glued = lines[i].IndexOf("processed ", StringComparison.Ordinal);
                return glued > 0 ? lines[i][..glued] : lines[i];
            }
        }

        return null;
    }

    public static int Processed(string? log)
    {
        var m = System.Text.RegularExpressions.Regex.Match(log ?? "", @"processed (\d+) insns");
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    public void Dispose()
    {
        foreach (var map in _maps)
        {
            map?.Dispose();
        }
    }
}
