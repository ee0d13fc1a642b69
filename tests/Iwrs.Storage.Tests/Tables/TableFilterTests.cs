using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

public sealed class TableFilterTests
{
    [Fact]
    public void Create_String_QuotedWithQuotesDoubled()
    {
        const string name = "O'Brien";

        Assert.Equal("Name eq 'O''Brien'", TableFilter.Create($"Name eq {name}").Text);
    }

    [Fact]
    public void Create_InjectionAttempt_StaysOneStringLiteral()
    {
        const string hostile = "' or true or '";

        var filter = TableFilter.Create($"PartitionKey eq {hostile}");

        Assert.Equal("PartitionKey eq ''' or true or '''", filter.Text);
    }

    [Fact]
    public void Create_LiteralText_NotEscaped()
    {
        Assert.Equal("PartitionKey eq 'p' and RowKey ge 'a'", TableFilter.Create($"PartitionKey eq 'p' and RowKey ge 'a'").Text);
    }

    public static TheoryData<object, string> Literals => new()
    {
        { "it's", "'it''s'" },
        { string.Empty, "''" },
        { 42, "42" },
        { -7, "-7" },
        { 42L, "42L" },
        { long.MinValue, "-9223372036854775808L" },
        { true, "true" },
        { false, "false" },
        { 2.5, "2.5" },
        { 2.0, "2.0" },
        { 1e300, "1E+300" },
        { 0.1 + 0.2, "0.30000000000000004" },
        { Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'" },
        { new DateTimeOffset(2021, 5, 22, 23, 49, 50, TimeSpan.FromHours(1)).AddTicks(1), "datetime'2021-05-22T22:49:50.0000001Z'" },
        { new DateTime(2021, 5, 22, 22, 49, 50, DateTimeKind.Utc), "datetime'2021-05-22T22:49:50.0000000Z'" },
        { new byte[] { 0x00, 0xAB, 0xFF }, "X'00abff'" },
    };

    [Theory]
    [MemberData(nameof(Literals))]
    public void Create_EachSupportedType_FormatsItsLiteral(object value, string expected)
    {
        Assert.Equal("P eq " + expected, TableFilter.Create($"P eq {value}").Text);
    }

    public static TheoryData<object?> Unsupported => new()
    {
        null,
        1.5m,
        1.5f,
        (short)1,
        DayOfWeek.Monday,
        new object(),
        double.NaN,
        double.PositiveInfinity,
        new DateTime(2021, 5, 22, 0, 0, 0, DateTimeKind.Unspecified),
        TableFilter.PartitionKeyEquals("p"),
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void Create_UnsupportedArgument_Throws(object? value)
    {
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"P eq {value}"));
    }

    [Fact]
    public void Create_FormatSpecifier_Throws()
    {
        var n = 5;

        Assert.Throws<ArgumentException>(() => TableFilter.Create($"P eq {n:D3}"));
        Assert.Throws<ArgumentException>(() => TableFilter.Create($"P eq {n,10}"));
    }

    [Fact]
    public void Create_EscapedBraces_KeptAsText()
    {
        Assert.Equal("P eq '{x}'", TableFilter.Create($"P eq '{{x}}'").Text);
    }

    [Fact]
    public void PartitionKeyEquals_EscapesKey()
    {
        Assert.Equal("PartitionKey eq 'a''b'", TableFilter.PartitionKeyEquals("a'b").Text);
    }

    [Fact]
    public void RowKeyPrefix_Prefix_RangeUpToNextChar()
    {
        Assert.Equal(
            "PartitionKey eq 'study''1' and RowKey ge 'kit|' and RowKey lt 'kit}'",
            TableFilter.RowKeyPrefix("study'1", "kit|").Text);
    }

    [Fact]
    public void RowKeyPrefix_LastCharIsMaxValue_CarriesToPreviousChar()
    {
        Assert.Equal(
            "PartitionKey eq 'p' and RowKey ge 'a\uffff' and RowKey lt 'b'",
            TableFilter.RowKeyPrefix("p", "a\uffff").Text);
    }

    [Fact]
    public void RowKeyPrefix_EmptyPrefix_WholePartition()
    {
        Assert.Equal("PartitionKey eq 'p'", TableFilter.RowKeyPrefix("p", string.Empty).Text);
    }

    [Fact]
    public void AndOrNot_Combine_Parenthesised()
    {
        var a = TableFilter.Create($"A eq {1}");
        var b = TableFilter.Create($"B eq {2}");
        var c = TableFilter.Create($"C eq {3}");

        Assert.Equal("((A eq 1) and (B eq 2)) or (not (C eq 3))", a.And(b).Or(TableFilter.Not(c)).Text);
    }

    [Fact]
    public void And_WithEmpty_ReturnsOther()
    {
        var a = TableFilter.Create($"A eq {1}");

        Assert.Equal(a, default(TableFilter).And(a));
        Assert.Equal(a, a.And(default));
        Assert.True(default(TableFilter).IsEmpty);
        Assert.Equal(string.Empty, default(TableFilter).Text);
    }

    [Fact]
    public void Not_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => TableFilter.Not(default));
    }
}
