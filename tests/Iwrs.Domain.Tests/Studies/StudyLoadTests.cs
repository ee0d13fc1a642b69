using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Studies.StudyFiles;

namespace Iwrs.Domain.Tests.Studies;

public sealed class StudyLoadTests
{
    private static StudyConfiguration Version(int version) => Valid(Definitions.Randomized() with { Version = version });

    [Theory]
    [InlineData(null)]
    [InlineData("anything")]
    public void Decide_NoCurrentStudy_Created(string? currentHash)
    {
        var result = StudyLoad.Decide(null, currentHash, Version(1), "h1");

        Assert.Equal(StudyLoadOutcome.Created, result.Value);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(5, 2)]
    [InlineData(2, 5)]
    public void Decide_SameHash_UnchangedWhateverTheVersion(int current, int incoming)
    {
        var result = StudyLoad.Decide(current, "same", Version(incoming), "same");

        Assert.Equal(StudyLoadOutcome.Unchanged, result.Value);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(1, 7)]
    [InlineData(41, 42)]
    public void Decide_HigherVersionDifferentHash_Updated(int current, int incoming)
    {
        var result = StudyLoad.Decide(current, "old", Version(incoming), "new");

        Assert.Equal(StudyLoadOutcome.Updated, result.Value);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(10, 1)]
    public void Decide_SameOrLowerVersionDifferentHash_Conflict(int current, int incoming)
    {
        var result = StudyLoad.Decide(current, "old", Version(incoming), "new");

        Assert.False(result.IsSuccess);
        Assert.Equal("study-version-conflict", result.Error!.Code);
        Assert.Contains("TEST-1", result.Error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => result.Value);
    }

    [Fact]
    public void Decide_CurrentWithoutHash_TreatedAsDifferentContent()
    {
        Assert.Equal("study-version-conflict", StudyLoad.Decide(1, null, Version(1), "h").Error?.Code);
        Assert.Equal(StudyLoadOutcome.Updated, StudyLoad.Decide(1, null, Version(2), "h").Value);
    }
}
