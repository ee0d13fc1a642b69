using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using static Iwrs.Domain.Tests.Subjects.SubjectStudies;

namespace Iwrs.Domain.Tests.Subjects;

public sealed class VisitNumberTests
{
    [Theory]
    [InlineData("C1", 1)]
    [InlineData("C2", 2)]
    [InlineData("C10", 10)]
    [InlineData("C35", 35)]
    public void VisitNumber_DispensingVisit_ItsNumber(string visit, int expected)
    {
        var result = SubjectRules.VisitNumber(Lj.VisitSchedule, visit);

        Assert.True(result.IsSuccess);
        Assert.Equal(expected, result.Value);
    }

    [Fact]
    public void VisitNumber_EveryVisitCode_RoundTrips()
    {
        var codes = Lj.VisitSchedule.VisitCodes.ToList();

        Assert.Equal(Enumerable.Range(1, 35), codes.Select(c => SubjectRules.VisitNumber(Lj.VisitSchedule, c).Value));
    }

    [Theory]
    [InlineData("C0")]
    [InlineData("C36")]
    [InlineData("C01")]
    [InlineData("C001")]
    [InlineData("c2")]
    [InlineData("X2")]
    [InlineData("C")]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("C-1")]
    [InlineData("C+2")]
    [InlineData(" C2")]
    [InlineData("C2 ")]
    [InlineData("C 2")]
    [InlineData("C2.0")]
    [InlineData("C1e1")]
    [InlineData("C٢")]
    [InlineData("C99999999999")]
    [InlineData("CC2")]
    public void VisitNumber_AnythingElse_RefusedAsUnknownVisit(string visit)
    {
        var result = SubjectRules.VisitNumber(Lj.VisitSchedule, visit);

        Assert.False(result.IsSuccess);
        Assert.Equal("unknown-visit", result.Error!.Code);
        Assert.Contains("C1 to C35", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VisitNumber_AkkSchedule_UpToFiftyTwo()
    {
        Assert.Equal(52, SubjectRules.VisitNumber(Akk.VisitSchedule, "C52").Value);
        Assert.Equal("unknown-visit", SubjectRules.VisitNumber(Akk.VisitSchedule, "C53").Error!.Code);
    }

    [Fact]
    public void VisitNumber_OtherPrefix_UsesThePrefix()
    {
        var schedule = new VisitSchedule("Cycle", 28, 3, 6, 1);

        Assert.Equal(3, SubjectRules.VisitNumber(schedule, "Cycle3").Value);
        Assert.Equal(6, SubjectRules.VisitNumber(schedule, "Cycle6").Value);
        Assert.Equal("unknown-visit", SubjectRules.VisitNumber(schedule, "C3").Error!.Code);
        Assert.Equal("unknown-visit", SubjectRules.VisitNumber(schedule, "Cycle7").Error!.Code);
        Assert.Contains("Cycle1 to Cycle6", SubjectRules.VisitNumber(schedule, "V1").Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VisitNumber_SingleVisitSchedule_OnlyOne()
    {
        var schedule = new VisitSchedule("V", 21, 3, 1, 1);

        Assert.Equal(1, SubjectRules.VisitNumber(schedule, "V1").Value);
        Assert.False(SubjectRules.VisitNumber(schedule, "V2").IsSuccess);
    }
}
