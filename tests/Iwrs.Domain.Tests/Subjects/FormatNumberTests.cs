using Iwrs.Domain.Subjects;
using static Iwrs.Domain.Tests.Subjects.SubjectStudies;

namespace Iwrs.Domain.Tests.Subjects;

public sealed class FormatNumberTests
{
    [Theory]
    [InlineData(1, "R0001")]
    [InlineData(42, "R0042")]
    [InlineData(999, "R0999")]
    [InlineData(9999, "R9999")]
    [InlineData(10000, "R10000")]
    [InlineData(123456, "R123456")]
    public void FormatNumber_RandomizedStudy_RAndZeroPaddedToFourDigits(long sequence, string expected)
    {
        Assert.Equal(expected, SubjectRules.FormatNumber(Lj, sequence));
    }

    [Theory]
    [InlineData(1, "E0001")]
    [InlineData(22, "E0022")]
    [InlineData(9999, "E9999")]
    [InlineData(10000, "E10000")]
    public void FormatNumber_SingleArmStudy_EAndZeroPaddedToFourDigits(long sequence, string expected)
    {
        Assert.Equal(expected, SubjectRules.FormatNumber(Akk, sequence));
    }

    [Fact]
    public void FormatNumber_SequenceInOrder_SortsInOrderUpToNineThousandNineHundredNinetyNine()
    {
        var numbers = Enumerable.Range(1, 9999).Select(i => SubjectRules.FormatNumber(Lj, i)).ToList();

        Assert.Equal(numbers, numbers.Order(StringComparer.Ordinal));
        Assert.Equal(9999, numbers.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void StatusName_EveryStatus_IsItsStableName()
    {
        Assert.Equal("randomized", Subject.StatusName(SubjectStatus.Randomized));
        Assert.Equal("discontinued", Subject.StatusName(SubjectStatus.Discontinued));
    }
}
