using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Studies.StudyFiles;

namespace Iwrs.Domain.Tests.Studies;

public sealed class SubjectPackSettingsTests
{
    private static StudyDefinition WithPacks(int? size, int? trigger, int? visits) =>
        Lj with { Supply = Lj.Supply! with { SubjectPacks = new SubjectPacksDefinition { StarterSize = size, StarterTrigger = trigger, PackVisits = visits } } };

    [Fact]
    public void Absent_TheSharedShelf()
    {
        Assert.Null(Valid(Lj).SubjectPacks);
        Assert.Null(Valid(Akk).SubjectPacks);
    }

    [Fact]
    public void Given_Parsed()
    {
        Assert.Equal(new SubjectPackSettings(4, 8, 1), Valid(WithPacks(4, 8, 1)).SubjectPacks);
        Assert.Equal(new SubjectPackSettings(6, 3, 24), Valid(WithPacks(6, 3, 24)).SubjectPacks);
    }

    [Theory]
    [InlineData(null, 8, 1, "supply.subjectPacks.starterSize")]
    [InlineData(5, 8, 1, "supply.subjectPacks.starterSize")]
    [InlineData(0, 8, 1, "supply.subjectPacks.starterSize")]
    [InlineData(42, 8, 1, "supply.subjectPacks.starterSize")]
    [InlineData(26, 8, 1, "supply.subjectPacks.starterSize")]
    [InlineData(4, 8, 25, "supply.subjectPacks.packVisits")]
    [InlineData(4, 0, 1, "supply.subjectPacks.starterTrigger")]
    [InlineData(4, null, 1, "supply.subjectPacks.starterTrigger")]
    [InlineData(4, 8, 0, "supply.subjectPacks.packVisits")]
    [InlineData(4, 8, 36, "supply.subjectPacks.packVisits")]
    public void Invalid_NamesTheField(int? size, int? trigger, int? visits, string field)
    {
        AssertInvalid(StudyConfiguration.Create(WithPacks(size, trigger, visits)), field);
    }

    [Fact]
    public void TwoKitsAVisit_AStarterOfTwoCannotServeARandomization()
    {
        var twoKits = WithPacks(2, 8, 1) with { VisitSchedule = Lj.VisitSchedule! with { KitsPerVisit = 2 } };
        AssertInvalid(StudyConfiguration.Create(twoKits), "supply.subjectPacks.starterSize");
    }

    [Fact]
    public void SetForOneSite_Refused()
    {
        var site = Lj.Sites![0]! with { Supply = Lj.Supply! with { SubjectPacks = new SubjectPacksDefinition { StarterSize = 4, StarterTrigger = 8, PackVisits = 1 } } };
        AssertInvalid(StudyConfiguration.Create(Lj with { Sites = [site, .. Lj.Sites.Skip(1)] }), "sites[0].supply.subjectPacks");
    }

    [Fact]
    public void OnceAListIsActive_TheSupplyDesignIsLocked_ItsLevelsAreNot()
    {
        var shelf = Valid(Lj);
        var packs = Valid(WithPacks(4, 8, 1));

        Assert.Equal("randomization-design-locked", StudyLoad.CheckDesignUnchanged(shelf, packs)?.Code);
        Assert.Equal("randomization-design-locked", StudyLoad.CheckDesignUnchanged(packs, shelf)?.Code);
        Assert.Null(StudyLoad.CheckDesignUnchanged(packs, Valid(WithPacks(6, 4, 2))));
        Assert.Null(StudyLoad.CheckDesignUnchanged(shelf, shelf));
    }
}
