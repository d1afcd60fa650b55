using System.Globalization;
using System.Text;
using SharpBpf.Btf;
using SharpBpf.Maps;

namespace SharpBpf.Hosting;

/// <summary>
/// A map's contents as <c>bpftool map dump</c> prints them: for a map whose key or value BTF is known, bpftool's
/// BTF-formatted listing (<c>[{"key": ..., "value": {...}}]</c>, per-CPU maps with <c>"values"</c> per CPU); otherwise
/// its hex listing (<c>key: 0a 00 00 01  value: 01 00 ...</c>, per-CPU values per CPU) ending with
/// <c>Found N elements</c>. <see cref="FormatJson(BpfMap, BtfSpec?, int, int)"/> gives <c>bpftool -j map dump</c>.
/// </summary>
/// <remarks>Values are rendered by <see cref="BtfValueFormatter"/>; hash maps list their elements in the VM's iteration order.</remarks>
public static class MapDump
{
    /// <summary>The plain dump of a map of <paramref name="vm"/>, with the object's BTF for its key and value.</summary>
    public static string Format(VmObject vm, BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var (key, value) = vm.BtfTypesOf(map);
        return Format(map, vm.Btf, key, value);
    }

    /// <summary>The <c>bpftool -j</c> dump of a map of <paramref name="vm"/>.</summary>
    public static string FormatJson(VmObject vm, BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var (key, value) = vm.BtfTypesOf(map);
        return FormatJson(map, vm.Btf, key, value);
    }

    /// <summary>The plain dump of a map; BTF-formatted when <paramref name="btf"/> describes its key or value.</summary>
    /// <param name="map">The map.</param>
    /// <param name="btf">The BTF of the key and value types, or null.</param>
    /// <param name="keyTypeId">The key's type id, or 0 (the key is then not shown in the BTF form, as in bpftool).</param>
    /// <param name="valueTypeId">The value's type id, or 0.</param>
    /// <exception cref="BtfFormatException">The BTF does not describe the map's bytes (a type without a size, or too large).</exception>
    public static string Format(BpfMap map, BtfSpec? btf = null, int keyTypeId = 0, int valueTypeId = 0)
    {
        ArgumentNullException.ThrowIfNull(map);
        return btf is not null && (keyTypeId != 0 || valueTypeId != 0) ? FormatBtf(map, btf, keyTypeId, valueTypeId) : FormatHex(map);
    }

    /// <summary>The <c>bpftool -j map dump</c> of a map: hex bytes as <c>"0x0a"</c> strings, plus <c>"formatted"</c> with BTF.</summary>
    /// <exception cref="BtfFormatException">The BTF does not describe the map's bytes.</exception>
    public static string FormatJson(BpfMap map, BtfSpec? btf = null, int keyTypeId = 0, int valueTypeId = 0)
    {
        ArgumentNullException.ThrowIfNull(map);
        bool formatted = btf is not null && (keyTypeId != 0 || valueTypeId != 0);
        if (formatted)
        {
            CheckTypes(map, btf!, keyTypeId, valueTypeId);
        }

        var w = new BpftoolJsonWriter(pretty: false);
        w.StartArray();
        foreach (var (key, value) in map.Entries())
        {
            w.StartObject();
            w.Name("key");
            HexArray(w, key);
            if (!map.IsPerCpu)
            {
                w.Name("value");
                HexArray(w, value);
            }
            else
            {
                PerCpu(w, map, value, cpuValue =>
                {
                    HexArray(w, cpuValue);
                    return true;
                });
            }

            if (formatted)
            {
                w.Name("formatted");
                Entry(w, map, btf!, keyTypeId, valueTypeId, key, value, plainText: false);
            }

            w.EndObject();
        }

        w.EndArray();
        return w.ToString();
    }

    private static string FormatBtf(BpfMap map, BtfSpec btf, int keyTypeId, int valueTypeId)
    {
        CheckTypes(map, btf, keyTypeId, valueTypeId);
        var w = new BpftoolJsonWriter(pretty: true);
        w.StartArray();
        foreach (var (key, value) in map.Entries())
        {
            Entry(w, map, btf, keyTypeId, valueTypeId, key, value, plainText: true);
        }

        w.EndArray();
        w.Finish();
        return w.ToString();
    }

    // bpftool's do_dump_btf: the key (when typed), then the value or the per-CPU values.
    private static void Entry(BpftoolJsonWriter w, BpfMap map, BtfSpec btf, int keyTypeId, int valueTypeId, byte[] key, byte[] value, bool plainText)
    {
        w.StartObject();
        bool keyOk = true;
        if (keyTypeId != 0)
        {
            w.Name("key");
            keyOk = BtfValueFormatter.Write(w, btf, keyTypeId, key, plainText);
        }

        if (keyOk && !map.IsPerCpu)
        {
            w.Name("value");
            BtfValueFormatter.Write(w, btf, valueTypeId, value, plainText);
        }
        else if (keyOk)
        {
            PerCpu(w, map, value, cpuValue => BtfValueFormatter.Write(w, btf, valueTypeId, cpuValue, plainText));
        }

        w.EndObject();
    }

    private static void CheckTypes(BpfMap map, BtfSpec btf, int keyTypeId, int valueTypeId)
    {
        if (keyTypeId != 0)
        {
            BtfValueFormatter.CheckSize(btf, keyTypeId, new byte[map.KeySize]);
        }

        BtfValueFormatter.CheckSize(btf, valueTypeId, new byte[map.ValueSize]);
    }

    private static string FormatHex(BpfMap map)
    {
        var text = new StringBuilder();
        int count = 0;
        foreach (var (key, value) in map.Entries())
        {
            count++;
            if (!map.IsPerCpu)
            {
                bool breakNames = map.KeySize > 16 || map.ValueSize > 16;
                bool singleLine = map.KeySize + map.ValueSize <= 24 && !breakNames;
                if (map.KeySize > 0)
                {
                    text.Append("key:").Append(breakNames ? '\n' : ' ');
                    Hex(text, key);
                    text.Append(singleLine ? "  " : "\n");
                }

                if (map.ValueSize > 0)
                {
                    text.Append("value:").Append(breakNames ? '\n' : ' ');
                    Hex(text, value);
                }

                text.Append('\n');
            }
            else
            {
                if (map.KeySize > 0)
                {
                    text.Append("key:\n");
                    Hex(text, key);
                    text.Append('\n');
                }

                for (int cpu = 0; cpu < map.PossibleCpus; cpu++)
                {
                    text.Append("value (CPU ").Append(cpu.ToString("00", CultureInfo.InvariantCulture)).Append("):").Append(map.ValueSize > 16 ? '\n' : ' ');
                    Hex(text, PerCpuValues.OfCpu(map, value, cpu));
                    text.Append('\n');
                }
            }
        }

        text.Append("Found ").Append(count.ToString(CultureInfo.InvariantCulture)).Append(count == 1 ? " element\n" : " elements\n");
        return text.ToString();
    }

    // bpftool's fprint_hex: bytes separated by a space, two spaces every 8 bytes, a new line every 16.
    private static void Hex(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i > 0)
            {
                text.Append(i % 16 == 0 ? "\n" : i % 8 == 0 ? "  " : " ");
            }

            text.Append(bytes[i].ToString("x2", CultureInfo.InvariantCulture));
        }
    }

    private static void HexArray(BpftoolJsonWriter w, ReadOnlySpan<byte> bytes)
    {
        w.StartArray();
        foreach (byte b in bytes)
        {
            w.Raw("\"0x" + b.ToString("x2", CultureInfo.InvariantCulture) + "\"");
        }

        w.EndArray();
    }

    private delegate bool ValueWriter(ReadOnlySpan<byte> value);

    // bpftool's "values": [{"cpu": 0, "value": ...},...]; stops after a value it could not write, as bpftool does.
    private static void PerCpu(BpftoolJsonWriter w, BpfMap map, byte[] values, ValueWriter write)
    {
        w.Name("values");
        w.StartArray();
        for (int cpu = 0; cpu < map.PossibleCpus; cpu++)
        {
            w.StartObject();
            w.Name("cpu");
            w.Raw(cpu.ToString(CultureInfo.InvariantCulture));
            w.Name("value");
            bool ok = write(PerCpuValues.OfCpu(map, values, cpu));
            w.EndObject();
            if (!ok)
            {
                break;
            }
        }

        w.EndArray();
    }
}
