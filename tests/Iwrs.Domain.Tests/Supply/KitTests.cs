using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Tests.Supply;

public sealed class KitTests
{
    public static TheoryData<KitStatus, string> StatusNames => new()
    {
        { KitStatus.AtDepot, "at-depot" },
        { KitStatus.InTransit, "in-transit" },
        { KitStatus.Available, "available" },
        { KitStatus.Dispensed, "dispensed" },
        { KitStatus.Damaged, "damaged" },
        { KitStatus.Missing, "missing" },
    };

    [Theory]
    [MemberData(nameof(StatusNames))]
    public void Name_EveryStatus_IsItsStableName(KitStatus status, string name)
    {
        Assert.Equal(name, Kit.Name(status));
    }

    [Theory]
    [MemberData(nameof(StatusNames))]
    public void Parse_EveryName_IsItsStatus(KitStatus status, string name)
    {
        Assert.Equal(status, Kit.Parse(name));
    }

    [Fact]
    public void NameAndParse_EveryStatus_RoundTripWithDistinctNames()
    {
        var statuses = Enum.GetValues<KitStatus>();

        Assert.All(statuses, s => Assert.Equal(s, Kit.Parse(Kit.Name(s))));
        Assert.Equal(statuses.Length, statuses.Select(Kit.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(9, statuses.Length);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("Available")]
    [InlineData("AtDepot")]
    [InlineData("at_depot")]
    [InlineData("at depot")]
    [InlineData(" available")]
    [InlineData("available ")]
    [InlineData("MISSING")]
    [InlineData("pending")]
    [InlineData("2")]
    public void Parse_UnknownName_ThrowsFormatExceptionNamingIt(string? name)
    {
        var e = Assert.Throws<FormatException>(() => Kit.Parse(name));

        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Depot_Location_IsDepot()
    {
        Assert.Equal("depot", Kit.Depot);
    }

    [Theory]
    [InlineData(2026, 3, 5, "20260305")]
    [InlineData(2026, 12, 31, "20261231")]
    [InlineData(1, 1, 1, "00010101")]
    [InlineData(9999, 12, 31, "99991231")]
    public void SortableExpiry_Date_IsYearMonthDayZeroPadded(int year, int month, int day, string expected)
    {
        Assert.Equal(expected, Kit.SortableExpiry(new DateOnly(year, month, day)));
    }

    [Fact]
    public void SortableExpiry_ManyDates_SortsOrdinallyInDateOrder()
    {
        var dates = new[]
        {
            new DateOnly(2027, 1, 2), new DateOnly(2026, 12, 31), new DateOnly(2026, 2, 10), new DateOnly(2026, 10, 2),
            new DateOnly(2030, 1, 1), new DateOnly(2026, 2, 9), new DateOnly(999, 5, 5),
        };

        var byString = dates.OrderBy(Kit.SortableExpiry, StringComparer.Ordinal).ToArray();

        Assert.Equal(dates.Order().ToArray(), byString);
        Assert.All(dates, d => Assert.Equal(8, Kit.SortableExpiry(d).Length));
    }
}
