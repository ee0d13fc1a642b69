using Iwrs.Domain.Studies;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Tests.Studies;
using Iwrs.Testing;
using static Iwrs.Domain.Tests.Subjects.SubjectStudies;

namespace Iwrs.Domain.Tests.Subjects;

public sealed class RandomizationDecisionTests
{
    private static readonly Stratum Stratum = Strata.For(Lj, "CN01", Request().StratificationFactors).Value;

    private static Dictionary<string, IReadOnlyList<string>> Shelves(int probiotic, int placebo) => new()
    {
        ["LJ-CAPS"] = [.. Enumerable.Range(1, probiotic).Select(i => $"K7Q{i}LJ")],
        ["PBO-CAPS"] = [.. Enumerable.Range(1, placebo).Select(i => $"M2W{i}PB")],
    };

    private static ListSlot Slot(string arm) => new(Stratum.Key, 7, 2, 4, arm);

    [Theory]
    [InlineData("LJ", "LJ-CAPS", "K7Q")]
    [InlineData("PBO", "PBO-CAPS", "M2W")]
    public void Decide_SlotAndStock_TakesTheSlotsArmAndAKitOfItsType(string arm, string kitType, string kitPrefix)
    {
        var result = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, listActive: true, Slot(arm), Shelves(3, 3), 42, At, "coordinator-1", new SeededRandom(7));

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        var subject = result.Value.Subject;
        Assert.Equal((arm, kitType, 7, Stratum.Key), (subject.ArmCode, subject.KitType, subject.ListPosition!.Value, subject.StratumKey!));
        Assert.Equal(SubjectRules.FormatNumber(Lj, 42), subject.Number);
        var kit = Assert.Single(result.Value.KitNumbers);
        Assert.StartsWith(kitPrefix, kit, StringComparison.Ordinal);
        Assert.Equal(("C1", kit, At), (subject.Dispensations.Single().Visit, subject.Dispensations.Single().KitNumber, subject.Dispensations.Single().At));
    }

    [Fact]
    public void Decide_NoSlotLeft_IsListExhausted()
    {
        var result = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, listActive: true, slot: null, Shelves(3, 3), 1, At, "c", new SeededRandom(7));
        Assert.Equal("list-exhausted", result.Error!.Code);
    }

    /// <summary>
    /// The list's strata hold whole blocks past the number asked for; a blinded study uses that public number only, so the
    /// subject refused never tells where a block ended (attacker review). Open label, or a list without the number: the whole list.
    /// </summary>
    [Theory]
    [InlineData(7, 7, true)]
    [InlineData(7, 6, false)]
    [InlineData(7, 1, false)]
    [InlineData(1, 1, true)]
    public void Decide_BlindedStudySlotPastThePublicNumber_IsListExhaustedWhateverItsArm(int position, int publicSlots, bool granted)
    {
        foreach (var arm in new[] { "LJ", "PBO" })
        {
            var slot = new ListSlot(Stratum.Key, position, 2, 4, arm);
            var result = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, listActive: true, slot, Shelves(3, 3), 1, At, "c", new SeededRandom(7), publicSlots);

            Assert.Equal(granted, result.IsSuccess);
            if (!granted)
            {
                Assert.Equal(new DomainError("list-exhausted", "The randomization list has no slot left for this subject's stratum. Nothing was used; contact the study's unblinded statistician."), result.Error);
            }
        }
    }

    [Fact]
    public void Decide_SlotPastThePublicNumber_OpenLabelOrNoNumberStored_TakesIt()
    {
        var slot = new ListSlot(Stratum.Key, 7, 2, 4, "LJ");
        Assert.True(RandomizationDecision.Decide(Lj with { Blinding = Blinding.OpenLabel }, "SUBJ-001", Request(), Stratum, true, slot, Shelves(3, 3), 1, At, "c", new SeededRandom(7), 5).IsSuccess);
        Assert.True(RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, true, slot, Shelves(3, 3), 1, At, "c", new SeededRandom(7), publicSlotsPerStratum: null).IsSuccess);
    }

    [Fact]
    public void UsableSlots_BlindedAtThePublicNumber_OpenLabelOrUnknownTheWholeStratum()
    {
        Assert.Equal(5, ListCapacity.UsableSlots(Lj, 8, 5));
        Assert.Equal(6, ListCapacity.UsableSlots(Lj, 6, 6));
        Assert.Equal(8, ListCapacity.UsableSlots(Lj, 8, null));
        Assert.Equal(8, ListCapacity.UsableSlots(Lj with { Blinding = Blinding.OpenLabel }, 8, 5));
    }

    [Fact]
    public void Decide_NoList_IsNoActiveList()
    {
        var result = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, listActive: false, slot: null, Shelves(3, 3), 1, At, "c", new SeededRandom(7));
        Assert.Equal("no-active-list", result.Error!.Code);
    }

    /// <summary>In a blinded study a short type puts the site on hold: every subject refused the same way, whichever arm the slot holds.</summary>
    [Theory]
    [InlineData(0, 3)]
    [InlineData(3, 0)]
    public void Decide_BlindedStudyOneTypeShort_RefusesBothArmsAlike(int probiotic, int placebo)
    {
        var lj = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, true, Slot("LJ"), Shelves(probiotic, placebo), 1, At, "c", new SeededRandom(7));
        var pbo = RandomizationDecision.Decide(Lj, "SUBJ-001", Request(), Stratum, true, Slot("PBO"), Shelves(probiotic, placebo), 1, At, "c", new SeededRandom(7));
        Assert.Equal(lj.Error, pbo.Error);
        Assert.Equal("supply-hold", lj.Error!.Code);
    }

    [Fact]
    public void Decide_SingleArmStudy_EnrolsWithoutASlot()
    {
        var shelves = new Dictionary<string, IReadOnlyList<string>> { ["AKK-CAPS"] = ["A9X1", "A9X2"] };
        var result = RandomizationDecision.Decide(Akk, "P-22", Request(), stratum: null, listActive: false, slot: null, shelves, 3, At, "c", new SeededRandom(7));

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Equal(("AKK", "AKK-CAPS", (int?)null), (result.Value.Subject.ArmCode, result.Value.Subject.KitType, result.Value.Subject.ListPosition));
        Assert.Contains(Assert.Single(result.Value.KitNumbers), shelves["AKK-CAPS"]);
        Assert.Null(result.Value.Slot);
    }

    [Fact]
    public void Decide_SingleArmStudyNoStock_IsNoKitAvailable()
    {
        var shelves = new Dictionary<string, IReadOnlyList<string>> { ["AKK-CAPS"] = [] };
        Assert.Equal("no-kit-available", RandomizationDecision.Decide(Akk, "P-22", Request(), null, false, null, shelves, 3, At, "c", new SeededRandom(7)).Error!.Code);
    }
}
