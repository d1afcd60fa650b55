using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

/// <summary>Random operation sequences checked against a dictionary that follows the kernel's rules.</summary>
public class HashMapModelTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(8, 2)]
    [InlineData(16, 3)]
    public void RandomOperationsMatchTheModel(int maxEntries, int seed)
    {
        var map = NewSet().Create(Spec(MapType.Hash, 4, 8, maxEntries, MapFlags.ZeroSeed));
        var model = new Dictionary<uint, ulong>();
        var random = new Random(seed);
        var value = new byte[8];
        for (int step = 0; step < 20_000; step++)
        {
            uint key = (uint)random.Next(0, maxEntries * 3);
            ulong v = (ulong)random.NextInt64();
            switch (random.Next(4))
            {
                case 0:
                {
                    var flags = (MapUpdateFlags)random.Next(0, 3);
                    bool exists = model.ContainsKey(key);
                    MapResult expected = flags switch
                    {
                        MapUpdateFlags.NoExist when exists => MapResult.Exists,
                        MapUpdateFlags.Exist when !exists => MapResult.NotFound,
                        _ when !exists && model.Count == maxEntries => MapResult.TooBig,
                        _ => MapResult.Success,
                    };
                    Assert.Equal(expected, map.Update(key, v, flags));
                    if (expected == MapResult.Success)
                    {
                        model[key] = v;
                    }

                    break;
                }

                case 1:
                    Assert.Equal(model.Remove(key) ? MapResult.Success : MapResult.NotFound, map.Delete(U32(key)));
                    break;
                case 2:
                    if (model.TryGetValue(key, out ulong stored))
                    {
                        Assert.Equal(MapResult.Success, map.Lookup(U32(key), value));
                        Assert.Equal(stored, BitConverter.ToUInt64(value));
                    }
                    else
                    {
                        Assert.Equal(MapResult.NotFound, map.Lookup(U32(key), value));
                    }

                    break;
                default:
                    Assert.Equal(model.ContainsKey(key), map.LookupForProgram(U32(key), 0) != 0);
                    break;
            }
        }

        var keys = map.Keys().Select(k => BitConverter.ToUInt32(k)).Order().ToArray();
        Assert.Equal(model.Keys.Order().ToArray(), keys);
    }
}
