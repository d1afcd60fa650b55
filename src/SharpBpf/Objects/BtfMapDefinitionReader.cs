using SharpBpf.Btf;

namespace SharpBpf.Objects;

/// <summary>The fields of a BTF-defined map, as its BTF struct describes them.</summary>
internal sealed class BtfMapFields
{
    public MapType Type { get; set; }
    public uint? KeySize { get; set; }
    public uint? ValueSize { get; set; }
    public uint MaxEntries { get; set; }
    public uint Flags { get; set; }
    public uint NumaNode { get; set; }
    public uint Pinning { get; set; }
    public ulong MapExtra { get; set; }
    public int KeyTypeId { get; set; }
    public int ValueTypeId { get; set; }

    /// <summary>The byte offset of the <c>values</c> member in the definition, or -1 without one.</summary>
    public int ValuesOffset { get; set; } = -1;

    /// <summary>For a map-in-map with <c>values</c>: the template inner map, described by the pointee struct.</summary>
    public BtfMapFields? Inner { get; set; }
}

/// <summary>
/// Reads a BTF-defined map the way libbpf does: the map's VAR in the <c>.maps</c> DATASEC has a struct type whose
/// members name the attributes. Integers are encoded in the type as <c>int (*name)[N]</c> (a pointer to an array
/// of N elements), <c>key</c>/<c>value</c> as pointers to the key and value types, and <c>values</c> as a trailing
/// zero-length array of pointers to the inner map's struct (map-in-map) or to a function prototype (prog array).
/// </summary>
internal static class BtfMapDefinitionReader
{
    /// <summary>libbpf's LIBBPF_PIN_NONE and LIBBPF_PIN_BY_NAME, the only pinning values it accepts.</summary>
    private const uint PinNone = 0, PinByName = 1;

    /// <summary>Decodes the struct <paramref name="structId"/> describing map <paramref name="mapName"/>.</summary>
    /// <exception cref="MapDefinitionException">The description breaks the conventions, or its BTF is malformed.</exception>
    public static BtfMapFields Read(BtfSpec btf, string mapName, int structId, bool isInner = false)
    {
        try
        {
            return ReadStruct(btf, mapName, structId, isInner);
        }
        catch (BtfFormatException e)
        {
            throw new MapDefinitionException(mapName, "its BTF description is malformed: " + e.Message, e);
        }
    }

    private static BtfMapFields ReadStruct(BtfSpec btf, string mapName, int structId, bool isInner)
    {
        var def = btf.ResolveType(structId);
        if (def.Kind != BtfKind.Struct)
        {
            throw new MapDefinitionException(mapName, $"its definition is a BTF {def.Kind}, not a struct");
        }

        var fields = new BtfMapFields();
        var members = def.GetMembers();
        for (int i = 0; i < members.Length; i++)
        {
            var member = members[i];
            string name = member.Name;
            switch (name)
            {
                case "":
                    throw new MapDefinitionException(mapName, $"field #{i} has no name");
                case "type":
                    fields.Type = (MapType)Integer(btf, mapName, member);
                    break;
                case "max_entries":
                    fields.MaxEntries = Integer(btf, mapName, member);
                    break;
                case "map_flags":
                    fields.Flags = Integer(btf, mapName, member);
                    break;
                case "numa_node":
                    fields.NumaNode = Integer(btf, mapName, member);
                    break;
                case "map_extra":
                    fields.MapExtra = Long(btf, mapName, member);
                    break;
                case "key_size":
                    fields.KeySize = Agree(mapName, "key", fields.KeySize, Integer(btf, mapName, member));
                    break;
                case "value_size":
                    fields.ValueSize = Agree(mapName, "value", fields.ValueSize, Integer(btf, mapName, member));
                    break;
                case "key":
                {
                    var (typeId, size) = Pointee(btf, mapName, member);
                    fields.KeySize = Agree(mapName, "key", fields.KeySize, size);
                    fields.KeyTypeId = typeId;
                    break;
                }

                case "value":
                {
                    var (typeId, size) = Pointee(btf, mapName, member);
                    fields.ValueSize = Agree(mapName, "value", fields.ValueSize, size);
                    fields.ValueTypeId = typeId;
                    break;
                }

                case "values":
                    ReadValues(btf, mapName, member, fields, isInner, isLast: i == members.Length - 1);
                    break;
                case "pinning":
                {
                    if (isInner)
                    {
                        throw new MapDefinitionException(mapName, "an inner map template cannot be pinned");
                    }

                    uint pinning = Integer(btf, mapName, member);
                    if (pinning is not (PinNone or PinByName))
                    {
                        throw new MapDefinitionException(mapName, $"pinning {pinning} is neither 0 (none) nor 1 (by name)");
                    }

                    fields.Pinning = pinning;
                    break;
                }

                default:
                    throw new MapDefinitionException(mapName, $"unknown field '{name}'");
            }
        }

        return fields;
    }

    /// <summary>Two ways of giving a size (key_size and key, value_size and value) must agree.</summary>
    private static uint Agree(string mapName, string what, uint? known, uint size) =>
        known is { } previous && previous != size
            ? throw new MapDefinitionException(mapName, $"conflicting {what} sizes {previous} and {size}")
            : size;

    /// <summary>An integer attribute: <c>int (*name)[N]</c> gives N.</summary>
    private static uint Integer(BtfSpec btf, string mapName, BtfMember member)
    {
        var pointer = btf.ResolveType(member.TypeId);
        if (pointer.Kind != BtfKind.Pointer)
        {
            throw new MapDefinitionException(mapName, $"attribute '{member.Name}' is a BTF {pointer.Kind}, not a pointer to an array");
        }

        var array = btf.GetType(pointer.ReferencedTypeId);
        if (array.Kind != BtfKind.Array)
        {
            throw new MapDefinitionException(mapName, $"attribute '{member.Name}' points to a BTF {array.Kind}, not an array");
        }

        return array.Array.Count;
    }

    /// <summary>A 64-bit attribute: an integer attribute, or an enum with one enumerator holding the value.</summary>
    private static ulong Long(BtfSpec btf, string mapName, BtfMember member)
    {
        var type = btf.ResolveType(member.TypeId);
        if (type.Kind == BtfKind.Pointer)
        {
            return Integer(btf, mapName, member);
        }

        if (type.Kind is not (BtfKind.Enum or BtfKind.Enum64) || type.Vlen != 1)
        {
            throw new MapDefinitionException(mapName, $"attribute '{member.Name}' is a BTF {type.Kind}, not a pointer to an array or a one-value enum");
        }

        return type.GetEnumValue(0).RawValue & (type.Kind == BtfKind.Enum ? uint.MaxValue : ulong.MaxValue);
    }

    /// <summary><c>key</c> or <c>value</c>: a pointer whose pointee's size is the key or value size.</summary>
    private static (int TypeId, uint Size) Pointee(BtfSpec btf, string mapName, BtfMember member)
    {
        var pointer = btf.GetType(member.TypeId);
        if (pointer.Kind != BtfKind.Pointer)
        {
            throw new MapDefinitionException(mapName, $"'{member.Name}' is a BTF {pointer.Kind}, not a pointer to the {member.Name} type");
        }

        long size = btf.GetSize(pointer.ReferencedTypeId);
        if (size < 0 || size > uint.MaxValue)
        {
            throw new MapDefinitionException(mapName, $"the size of the {member.Name} type [{pointer.ReferencedTypeId}] cannot be determined");
        }

        return (pointer.ReferencedTypeId, (uint)size);
    }

    /// <summary>
    /// <c>values</c>: the last member, a zero-length array of pointers; it makes the value a 4-byte map or program
    /// reference and, for a map-in-map, describes the inner map.
    /// </summary>
    private static void ReadValues(BtfSpec btf, string mapName, BtfMember member, BtfMapFields fields, bool isInner, bool isLast)
    {
        if (isInner)
        {
            throw new MapDefinitionException(mapName, "inner maps of inner maps are not supported");
        }

        if (!isLast)
        {
            throw new MapDefinitionException(mapName, "'values' must be the last field");
        }

        bool isMapInMap = fields.Type is MapType.ArrayOfMaps or MapType.HashOfMaps;
        if (!isMapInMap && fields.Type != MapType.ProgramArray)
        {
            throw new MapDefinitionException(mapName, $"'values' is only for map-in-map and program array maps, not {fields.Type} (declare 'type' before it)");
        }

        fields.ValueSize = Agree(mapName, "value", fields.ValueSize, 4);
        var array = btf.GetType(member.TypeId);
        if (array.Kind != BtfKind.Array)
        {
            throw new MapDefinitionException(mapName, $"'values' is a BTF {array.Kind}, not an array");
        }

        if (array.Array.Count != 0)
        {
            throw new MapDefinitionException(mapName, $"'values' is an array of {array.Array.Count} elements; it must have none");
        }

        var pointer = btf.ResolveType(array.Array.ElementTypeId);
        if (pointer.Kind != BtfKind.Pointer)
        {
            throw new MapDefinitionException(mapName, $"'values' holds BTF {pointer.Kind}s, not pointers");
        }

        var target = btf.ResolveType(pointer.ReferencedTypeId);
        if (fields.Type == MapType.ProgramArray)
        {
            if (target.Kind != BtfKind.FunctionProto)
            {
                throw new MapDefinitionException(mapName, $"'values' of a program array must point to functions, not a BTF {target.Kind}");
            }
        }
        else
        {
            if (target.Kind != BtfKind.Struct)
            {
                throw new MapDefinitionException(mapName, $"'values' of a map-in-map must point to the inner map's struct, not a BTF {target.Kind}");
            }

            fields.Inner = ReadStruct(btf, mapName + ".inner", target.Id, isInner: true);
        }

        fields.ValuesOffset = (int)(member.BitOffset / 8);
    }
}
