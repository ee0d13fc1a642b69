using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Tests.Studies;
using static Iwrs.Domain.Tests.Subjects.SubjectStudies;

namespace Iwrs.Domain.Tests.Subjects;

public sealed class CheckRandomizationTests
{
    private static StudyConfiguration WithSite(StudyConfiguration study, string siteId, Func<Site, Site> change) =>
        study with { Sites = study.Sites.Select(s => s.SiteId == siteId ? change(s) : s).ToList() };

    private static string Code(Result<Subject?> result)
    {
        Assert.False(result.IsSuccess, "Expected a refusal.");
        return result.Error!.Code;
    }

    [Fact]
    public void CheckRandomization_AllGood_OkWithNull()
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request(), null);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Null(result.Value);
    }

    [Fact]
    public void CheckRandomization_SingleArmAllGood_OkWithNull()
    {
        var result = SubjectRules.CheckRandomization(Akk, "P-22", Request(eligible: true), null);

        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        Assert.Null(result.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("SUBJ 001")]
    [InlineData("SUBJ/001")]
    [InlineData("SUBJ#1")]
    [InlineData("SUBJ?1")]
    [InlineData("SUBJ|1")]
    [InlineData("SÜBJ1")]
    [InlineData("S\n1")]
    public void CheckRandomization_InvalidSubjectId_RefusedAtSubjectId(string subjectId)
    {
        var result = SubjectRules.CheckRandomization(Lj, subjectId, Request(), null);

        Assert.Equal("validation-failed", Code(result));
        Assert.Equal(["subjectId"], result.Error!.Errors!.Select(e => e.Field));
    }

    [Fact]
    public void CheckRandomization_SubjectIdOfSixtyFiveCharacters_Refused()
    {
        Assert.Equal("validation-failed", Code(SubjectRules.CheckRandomization(Lj, new string('S', 65), Request(), null)));
        Assert.True(SubjectRules.CheckRandomization(Lj, new string('S', 64), Request(), null).IsSuccess);
    }

    [Fact]
    public void CheckRandomization_InvalidSubjectIdAndNoSite_ReportsTheSubjectIdFirst()
    {
        var result = SubjectRules.CheckRandomization(Lj, "a b", Request(siteId: null), Randomized());

        Assert.Equal(["subjectId"], result.Error!.Errors!.Select(e => e.Field));
    }

    [Fact]
    public void CheckRandomization_NoSite_RefusedAtSiteId()
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request(siteId: null), null);

        Assert.Equal("validation-failed", Code(result));
        Assert.Equal(["siteId"], result.Error!.Errors!.Select(e => e.Field));
    }

    [Fact]
    public void CheckRandomization_NoSiteButAlreadyRandomized_StillRefusedAtSiteId()
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request(siteId: null), Randomized());

        Assert.Equal(["siteId"], result.Error!.Errors!.Select(e => e.Field));
    }

    [Fact]
    public void CheckRandomization_AlreadyRandomizedAtSameSite_ReturnsThatSubject()
    {
        var existing = Randomized("CN02");

        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request("CN02"), existing);

        Assert.True(result.IsSuccess);
        Assert.Same(existing, result.Value);
    }

    [Fact]
    public void CheckRandomization_AlreadyRandomizedEvenWhenEverythingElseWouldRefuse_ReturnsThatSubject()
    {
        // A retry gets the first answer even after the study closed, the site went inactive, or without eligibility.
        var study = WithSite(Lj with { Status = StudyStatus.Closed }, "CN01", s => s with { Active = false });
        var existing = Randomized("CN01");

        var result = SubjectRules.CheckRandomization(study, "SUBJ-001", Request("CN01", eligible: null), existing);

        Assert.Same(existing, result.Value);
    }

    [Fact]
    public void CheckRandomization_AlreadyRandomizedAtAnotherSite_RefusedWithoutRevealingTheArm()
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request("CN02"), Randomized("CN01"));

        Assert.Equal("subject-already-randomized-elsewhere", Code(result));
        Assert.Contains("SUBJ-001", result.Error!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LJ", result.Error.Message.Replace("SUBJ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("CN01", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckRandomization_AlreadyRandomizedAtAnotherSiteOfAClosedStudy_StillElsewhere()
    {
        var result = SubjectRules.CheckRandomization(Lj with { Status = StudyStatus.Closed }, "SUBJ-001", Request("CN02"), Randomized("CN01"));

        Assert.Equal("subject-already-randomized-elsewhere", Code(result));
    }

    [Theory]
    [InlineData(StudyStatus.Setup)]
    [InlineData(StudyStatus.Closed)]
    public void CheckRandomization_RandomizedStudyNotOpen_RefusedNamingRandomization(StudyStatus status)
    {
        var result = SubjectRules.CheckRandomization(Lj with { Status = status }, "SUBJ-001", Request(), null);

        Assert.Equal("study-not-open", Code(result));
        Assert.Equal("Study 'LJ-MCRC' is not open for randomization.", result.Error!.Message);
    }

    [Theory]
    [InlineData(StudyStatus.Setup)]
    [InlineData(StudyStatus.Closed)]
    public void CheckRandomization_SingleArmStudyNotOpen_RefusedNamingEnrolment(StudyStatus status)
    {
        var result = SubjectRules.CheckRandomization(Akk with { Status = status }, "P-1", Request(), null);

        Assert.Equal("study-not-open", Code(result));
        Assert.Equal("Study 'AKK-MCRC' is not open for enrolment.", result.Error!.Message);
    }

    [Fact]
    public void CheckRandomization_StudyNotOpenAndUnknownSite_ReportsStudyNotOpen()
    {
        var result = SubjectRules.CheckRandomization(Lj with { Status = StudyStatus.Setup }, "SUBJ-001", Request("XX99", eligible: false), null);

        Assert.Equal("study-not-open", Code(result));
    }

    [Theory]
    [InlineData("XX99")]
    [InlineData("cn01")]
    [InlineData("CN01 ")]
    [InlineData("")]
    public void CheckRandomization_UnknownSite_RefusedAsSiteNotFound(string siteId)
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request(siteId, eligible: false), null);

        Assert.Equal("site-not-found", Code(result));
        Assert.Contains($"'{siteId}'", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckRandomization_InactiveSite_RefusedAsSiteNotActive()
    {
        var study = WithSite(Lj, "CN03", s => s with { Active = false });

        var result = SubjectRules.CheckRandomization(study, "SUBJ-001", Request("CN03", eligible: false), null);

        Assert.Equal("site-not-active", Code(result));
        Assert.Contains("CN03", result.Error!.Message, StringComparison.Ordinal);
        Assert.True(SubjectRules.CheckRandomization(study, "SUBJ-001", Request("CN02"), null).IsSuccess);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(false)]
    public void CheckRandomization_EligibilityNotConfirmed_Refused(bool? eligible)
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", Request(eligible: eligible), null);

        Assert.Equal("eligibility-not-confirmed", Code(result));
        Assert.Contains("eligibilityConfirmed", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckRandomization_NoStratificationFactors_NotCheckedHere()
    {
        var result = SubjectRules.CheckRandomization(Lj, "SUBJ-001", new RandomizationRequest("CN01", true, null), null);

        Assert.True(result.IsSuccess);
        Assert.Null(result.Value);
    }
}
