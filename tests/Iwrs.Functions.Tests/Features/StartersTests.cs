using Iwrs.Domain.Supply;
using Iwrs.Functions.Features;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Tests.Features;

public sealed class StartersTests
{
    private static KitRows.ShelfEntry Kit(string number, string starter) =>
        new("LJ-CAPS", new KitRows.IndexEntry(number, $"avail|CN01|{number}", new DateOnly(2028, 6, 30), "etag"), new StarterLabel(starter, 4, 2));

    [Fact]
    public void Of_OldestFirst_ByShipmentThenStarterNumber_ComparedAsNumbers()
    {
        // As text SH10000 sorts before SH9999 and SH0007-10 before SH0007-2; as numbers they come after.
        var shelf = new[] { Kit("K1", "SH10000-1"), Kit("K2", "SH0007-10"), Kit("K3", "SH9999-1"), Kit("K4", "SH0007-2"), Kit("K5", "SH0007-2") };

        var starters = Starters.Of(shelf);

        Assert.Equal(["SH0007-2", "SH0007-10", "SH9999-1", "SH10000-1"], starters.Select(s => s.Counts.Id));
        Assert.Equal(2, starters[0].Kits.Count);
    }
}
