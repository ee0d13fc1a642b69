using Iwrs.Domain.Subjects;
using Iwrs.Domain.Tests.Studies;
using static Iwrs.Domain.Tests.Subjects.SubjectStudies;

namespace Iwrs.Domain.Tests.Subjects;

public sealed class CheckDispenseTests
{
    private static readonly Dispensation C1 = Dispensed("C1", "KIT0001");
    private static readonly Dispensation C2 = Dispensed("C2", "KIT0002");
    private static readonly Dispensation C5 = Dispensed("C5", "KIT0005");

    private static string Code(Result<Dispensation?> result)
    {
        Assert.False(result.IsSuccess, "Expected a refusal.");
        return result.Error!.Code;
    }

    [Theory]
    [InlineData("C2")]
    [InlineData("C3")]
    [InlineData("C35")]
    public void CheckDispense_NextOrLaterVisit_OkWithNull(string visit)
    {
        var result = SubjectRules.CheckDispense(Lj, Randomized("CN01", C1), visit, "CN01");

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Null(result.Value);
    }

    [Fact]
    public void CheckDispense_SkippingForwardPastAMissedVisit_Allowed()
    {
        var result = SubjectRules.CheckDispense(Lj, Randomized("CN01", C1, C2, C5), "C9", "CN01");

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Null(result.Value);
    }

    [Fact]
    public void CheckDispense_NoDispensationsYet_LaterVisitAllowed()
    {
        var result = SubjectRules.CheckDispense(Lj, Randomized("CN01"), "C2", "CN01");

        Assert.True(result.IsSuccess);
        Assert.Null(result.Value);
    }

    [Theory]
    [InlineData("C2")]
    [InlineData("C5")]
    [InlineData("C1")]
    public void CheckDispense_VisitAlreadyDispensed_ReturnsThatDispensation(string visit)
    {
        var subject = Randomized("CN01", C1, C2, C5);

        var result = SubjectRules.CheckDispense(Lj, subject, visit, "CN01");

        Assert.True(result.IsSuccess);
        Assert.Same(subject.Dispensations.Single(d => d.Visit == visit), result.Value);
    }

    [Fact]
    public void CheckDispense_VisitAlreadyDispensedToADiscontinuedSubject_ReturnsThatDispensation()
    {
        var result = SubjectRules.CheckDispense(Lj, Discontinued("CN01", C1, C2), "C2", "CN01");

        Assert.True(result.IsSuccess);
        Assert.Same(C2, result.Value);
    }

    [Theory]
    [InlineData("C0")]
    [InlineData("C36")]
    [InlineData("c2")]
    [InlineData("C02")]
    public void CheckDispense_UnknownVisit_RefusedAsUnknownVisit(string visit)
    {
        Assert.Equal("unknown-visit", Code(SubjectRules.CheckDispense(Lj, Randomized("CN01", C1), visit, "CN01")));
    }

    [Fact]
    public void CheckDispense_UnknownVisitAtAnotherSite_ReportsTheVisitFirst()
    {
        Assert.Equal("unknown-visit", Code(SubjectRules.CheckDispense(Lj, Discontinued("CN01", C1), "C99", "CN02")));
    }

    [Fact]
    public void CheckDispense_OtherSite_RefusedAsNotAuthorizedForSite()
    {
        var result = SubjectRules.CheckDispense(Lj, Randomized("CN01", C1), "C2", "CN02");

        Assert.Equal("not-authorized-for-site", Code(result));
        Assert.Contains("CN02", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDispense_DiscontinuedAtOtherSite_ReportsTheSiteFirst()
    {
        Assert.Equal("not-authorized-for-site", Code(SubjectRules.CheckDispense(Lj, Discontinued("CN01", C1), "C2", "CN03")));
    }

    [Theory]
    [InlineData("C2")]
    [InlineData("C3")]
    public void CheckDispense_Discontinued_RefusedAsSubjectDiscontinued(string visit)
    {
        var result = SubjectRules.CheckDispense(Lj, Discontinued("CN01", C1), visit, "CN01");

        Assert.Equal("subject-discontinued", Code(result));
    }

    [Fact]
    public void CheckDispense_DiscontinuedAskingForC1_ReportsDiscontinuedFirst()
    {
        Assert.Equal("subject-discontinued", Code(SubjectRules.CheckDispense(Lj, Discontinued("CN01"), "C1", "CN01")));
    }

    [Fact]
    public void CheckDispense_C1NotYetDispensed_RefusedAsDispensedAtRandomization()
    {
        var result = SubjectRules.CheckDispense(Lj, Randomized("CN01"), "C1", "CN01");

        Assert.Equal("visit-dispensed-at-randomization", Code(result));
        Assert.StartsWith("C1 ", result.Error!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("C3")]
    [InlineData("C4")]
    [InlineData("C2")]
    public void CheckDispense_EarlierThanLastDispensed_RefusedAsOutOfOrder(string visit)
    {
        var subject = Randomized("CN01", C1, C5) with { Dispensations = [C5, C1] };

        var result = SubjectRules.CheckDispense(Lj, subject, visit, "CN01");

        Assert.Equal("visit-out-of-order", Code(result));
        Assert.Contains("C5", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckDispense_LastDispensedIsTheHighestNotTheLatestListed()
    {
        var subject = Randomized("CN01", C1, C5, C2);

        Assert.Equal("visit-out-of-order", Code(SubjectRules.CheckDispense(Lj, subject, "C4", "CN01")));
        Assert.True(SubjectRules.CheckDispense(Lj, subject, "C6", "CN01").IsSuccess);
    }

    [Fact]
    public void CheckDispense_StoredDispensationOutsideTheSchedule_Ignored()
    {
        // A visit the schedule no longer has (it was shortened) does not count as the last dispensed visit.
        var subject = Randomized("CN01", C1, Dispensed("C40", "KIT0040"));

        var result = SubjectRules.CheckDispense(Lj, subject, "C2", "CN01");

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Null(result.Value);
    }

    [Fact]
    public void CheckDispense_SingleArmStudy_SameRules()
    {
        var subject = Randomized("CN01", Dispensed("C1", "AKK0001")) with { Number = "E0001", ArmCode = "AKK", KitType = "AKK-CAPS", StratumKey = null, ListPosition = null };

        Assert.Null(SubjectRules.CheckDispense(Akk, subject, "C52", "CN01").Value);
        Assert.Equal("unknown-visit", Code(SubjectRules.CheckDispense(Akk, subject, "C53", "CN01")));
        Assert.Equal("visit-dispensed-at-randomization", Code(SubjectRules.CheckDispense(Akk, Randomized("CN01"), "C1", "CN01")));
    }
}
