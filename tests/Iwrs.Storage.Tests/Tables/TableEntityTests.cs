using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

public sealed class TableEntityTests
{
    [Fact]
    public void Set_SupportedTypes_StoredAsGiven()
    {
        var when = new DateTimeOffset(2021, 5, 22, 23, 0, 0, TimeSpan.FromHours(1));
        var e = new TableEntity("p", "r")
            .Set("S", "s").Set("B", true).Set("I", 1).Set("L", 2L).Set("D", 3.5)
            .Set("W", when).Set("G", Guid.Empty).Set("X", new byte[] { 1 });

        Assert.Equal(8, e.Count);
        Assert.IsType<long>(e["L"]);
        Assert.Equal(TimeSpan.Zero, Assert.IsType<DateTimeOffset>(e["W"]).Offset);
        Assert.Equal(when, e.GetDateTimeOffset("W"));
    }

    [Fact]
    public void Set_UtcDateTime_StoredAsDateTimeOffset()
    {
        var e = new TableEntity("p", "r").Set("W", new DateTime(2021, 5, 22, 22, 0, 0, DateTimeKind.Utc));

        Assert.Equal(new DateTimeOffset(2021, 5, 22, 22, 0, 0, TimeSpan.Zero), Assert.IsType<DateTimeOffset>(e["W"]));
    }

    [Fact]
    public void Set_ByteArray_CopiedSoLaterChangesDoNotLeakIn()
    {
        var bytes = new byte[] { 1, 2 };
        var e = new TableEntity("p", "r").Set("X", bytes);

        bytes[0] = 9;

        Assert.Equal(new byte[] { 1, 2 }, e.GetBinary("X"));
    }

    public static TheoryData<object> UnsupportedValues => new()
    {
        1.5m, 1.5f, (short)1, DayOfWeek.Monday, new object(), new DateTime(2021, 1, 1), new[] { 1 },
    };

    [Theory]
    [MemberData(nameof(UnsupportedValues))]
    public void Set_UnsupportedValue_Throws(object value)
    {
        Assert.Throws<ArgumentException>(() => new TableEntity("p", "r").Set("V", value));
    }

    [Theory]
    [InlineData("PartitionKey")]
    [InlineData("RowKey")]
    [InlineData("Timestamp")]
    [InlineData("bad-name")]
    [InlineData("odata.etag")]
    public void Set_ReservedOrInvalidName_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => new TableEntity("p", "r").Set(name, 1));
    }

    [Fact]
    public void Set_Null_RemovesProperty()
    {
        var e = new TableEntity("p", "r").Set("A", 1);

        e["A"] = null;

        Assert.False(e.ContainsKey("A"));
        Assert.Null(e.GetInt32("A"));
    }

    [Fact]
    public void Getters_Absent_ReturnNull()
    {
        var e = new TableEntity("p", "r");

        Assert.Null(e.GetString("X"));
        Assert.Null(e.GetBoolean("X"));
        Assert.Null(e.GetInt32("X"));
        Assert.Null(e.GetInt64("X"));
        Assert.Null(e.GetDouble("X"));
        Assert.Null(e.GetDateTimeOffset("X"));
        Assert.Null(e.GetGuid("X"));
        Assert.Null(e.GetBinary("X"));
        Assert.Null(e["X"]);
    }

    [Fact]
    public void Getters_NometadataStrings_Convert()
    {
        var e = new TableEntity("p", "r")
            .Set("L", "9007199254740993")
            .Set("I", "-12")
            .Set("D", "Infinity")
            .Set("B", "true")
            .Set("W", "2021-05-22T22:49:50.1234567Z")
            .Set("G", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
            .Set("X", "AQL/");

        Assert.Equal(9007199254740993L, e.GetInt64("L"));
        Assert.Equal(-12, e.GetInt32("I"));
        Assert.Equal(double.PositiveInfinity, e.GetDouble("D"));
        Assert.True(e.GetBoolean("B"));
        Assert.Equal(new DateTimeOffset(2021, 5, 22, 22, 49, 50, TimeSpan.Zero).AddTicks(1234567), e.GetDateTimeOffset("W"));
        Assert.Equal(Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), e.GetGuid("G"));
        Assert.Equal(new byte[] { 1, 2, 255 }, e.GetBinary("X"));
    }

    [Fact]
    public void Getters_WideningNumbers_Convert()
    {
        var e = new TableEntity("p", "r").Set("I", 7).Set("L", 5L).Set("Big", long.MaxValue);

        Assert.Equal(7L, e.GetInt64("I"));
        Assert.Equal(7.0, e.GetDouble("I"));
        Assert.Equal(5, e.GetInt32("L"));
        Assert.Throws<InvalidCastException>(() => e.GetInt32("Big"));
    }

    [Fact]
    public void Getters_WrongType_ThrowInvalidCast()
    {
        var e = new TableEntity("p", "r").Set("S", "not a number").Set("B", true).Set("N", 1);

        Assert.Throws<InvalidCastException>(() => e.GetInt32("S"));
        Assert.Throws<InvalidCastException>(() => e.GetGuid("S"));
        Assert.Throws<InvalidCastException>(() => e.GetDateTimeOffset("B"));
        Assert.Throws<InvalidCastException>(() => e.GetString("N"));
        Assert.Throws<InvalidCastException>(() => e.GetBinary("N"));
    }

    [Fact]
    public void TryGet_MissingOrWrongType_False()
    {
        var e = new TableEntity("p", "r").Set("S", "x").Set("I", 3);

        Assert.False(e.TryGetInt32("S", out _));
        Assert.False(e.TryGetInt32("missing", out _));
        Assert.False(e.TryGetString("I", out _));
        Assert.True(e.TryGetInt64("I", out var l));
        Assert.Equal(3L, l);
        Assert.True(e.TryGetString("S", out var s));
        Assert.Equal("x", s);
    }
}
