using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Elf;

namespace SharpBpf.Objects;

/// <summary>
/// Lays out an object's DATASECs the way libbpf does before loading: clang leaves every DATASEC with size 0 and its
/// variables at offset 0 (the section layout is only final in the ELF file), so sizes come from the sections and
/// offsets from the symbols, and variables are sorted by offset. The kernel refuses the unfixed BTF; map dumps need the
/// offsets to find each variable's bytes.
/// </summary>
public static class DataSectionLayout
{
    /// <summary>The object's BTF with DATASEC sizes and variable offsets filled in and variables sorted by offset.</summary>
    /// <exception cref="OverflowException">A section or symbol lies beyond 4 GiB.</exception>
    public static byte[] Apply(BpfObject bpfObject, BtfSpec spec)
    {
        ArgumentNullException.ThrowIfNull(bpfObject);
        ArgumentNullException.ThrowIfNull(spec);
        var data = spec.Data.ToArray();
        var elf = bpfObject.Elf;
        foreach (var type in spec.Types)
        {
            if (type.Kind != BtfKind.DataSection)
            {
                continue;
            }

            var section = elf.FindSection(type.Name);
            if (section is null)
            {
                continue; // .ksyms and similar extern-only sections have no ELF section to take a layout from
            }

            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(type.DataOffset + 8), checked((uint)section.Size));
            var variables = type.GetVariables();
            var placed = new (uint TypeId, uint Offset, uint Size)[variables.Length];
            for (int i = 0; i < variables.Length; i++)
            {
                uint offset = variables[i].Offset;
                var variable = spec[variables[i].TypeId];
                if (variable.Kind == BtfKind.Variable)
                {
                    string name = variable.Name;
                    foreach (var symbol in elf.Symbols)
                    {
                        if (symbol.SectionIndex == section.Index && symbol.Name == name && symbol.Type == ElfSymbolType.Object)
                        {
                            offset = checked((uint)symbol.Value);
                            break;
                        }
                    }
                }

                placed[i] = ((uint)variables[i].TypeId, offset, variables[i].Size);
            }

            Array.Sort(placed, (a, b) => a.Offset.CompareTo(b.Offset));
            for (int i = 0; i < placed.Length; i++)
            {
                var at = data.AsSpan(type.DataOffset + 12 + (i * 12));
                BinaryPrimitives.WriteUInt32LittleEndian(at, placed[i].TypeId);
                BinaryPrimitives.WriteUInt32LittleEndian(at[4..], placed[i].Offset);
                BinaryPrimitives.WriteUInt32LittleEndian(at[8..], placed[i].Size);
            }
        }

        return data;
    }
}
