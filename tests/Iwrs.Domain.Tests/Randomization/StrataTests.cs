using Iwrs.Domain.Randomization;
using static Iwrs.Domain.Tests.Randomization.RandomizationStudies;

namespace Iwrs.Domain.Tests.Randomization;

public sealed class StrataTests
{
    private static Dictionary<string, string> Values(params (string Code, string Level)[] values) =>
        values.ToDictionary(v => v.Code, v => v.Level);

    [Fact]
    public void All_LjSeed_FourStrataLastFactorFastest()
    {
        var strata = Strata.All(Lj);

        Assert.Equal(
            ["ecog=0;liver-mets=yes", "ecog=0;liver-mets=no", "ecog=1;liver-mets=yes", "ecog=1;liver-mets=no"],
            strata.Select(s => s.Key));
        Assert.Equal(
            [new KeyValuePair<string, string>("ecog", "1"), new KeyValuePair<string, string>("liver-mets", "yes")],
            strata[2].Levels);
    }

    [Fact]
    public void All_StratifiedBySite_SiteFirstThenFactors()
    {
        var strata = Strata.All(BySiteAndEcog);

        Assert.Equal(["site=S1;ecog=0", "site=S1;ecog=1", "site=S2;ecog=0", "site=S2;ecog=1"], strata.Select(s => s.Key));
        Assert.Equal(
            [new KeyValuePair<string, string>("site", "S2"), new KeyValuePair<string, string>("ecog", "0")],
            strata[2].Levels);
    }

    [Fact]
    public void All_NeitherSiteNorFactors_OneStratumAll()
    {
        var stratum = Assert.Single(Strata.All(Unstratified));

        Assert.Equal("all", stratum.Key);
        Assert.Empty(stratum.Levels);
    }

    [Fact]
    public void All_SingleArm_Empty()
    {
        Assert.Empty(Strata.All(Akk));
    }

    [Fact]
    public void For_ValidValuesInAnyOrder_CanonicalKey()
    {
        var result = Strata.For(Lj, "CN02", Values(("liver-mets", "no"), ("ecog", "1")));

        var stratum = AssertOk(result);
        Assert.Equal("ecog=1;liver-mets=no", stratum.Key);
        Assert.Equal(Strata.All(Lj)[3].Levels, stratum.Levels);
    }

    [Fact]
    public void For_EveryStratumOfAll_ReturnsThatStratum()
    {
        foreach (var stratum in Strata.All(BySiteAndEcog))
        {
            var site = stratum.Levels.First(l => l.Key == "site").Value;
            var factors = stratum.Levels.Where(l => l.Key != "site").ToDictionary(l => l.Key, l => l.Value);

            var found = AssertOk(Strata.For(BySiteAndEcog, site, factors));

            Assert.Equal(stratum.Key, found.Key);
            Assert.Equal(stratum.Levels, found.Levels);
        }
    }

    [Fact]
    public void For_NoStrataAndNoValues_All()
    {
        var stratum = AssertOk(Strata.For(Unstratified, "S1", null));

        Assert.Equal("all", stratum.Key);
    }

    [Fact]
    public void For_MissingFactor_ErrorOnThatFactor()
    {
        var result = Strata.For(Lj, "CN01", Values(("ecog", "0")));

        AssertSingleError(result, "stratificationFactors.liver-mets", "required");
    }

    [Fact]
    public void For_NullValuesWithFactors_EveryFactorMissing()
    {
        AssertInvalid(Strata.For(Lj, "CN01", null), "stratificationFactors.ecog", "stratificationFactors.liver-mets");
    }

    [Fact]
    public void For_UnknownLevel_ErrorOnThatFactor()
    {
        var result = Strata.For(Lj, "CN01", Values(("ecog", "2"), ("liver-mets", "yes")));

        AssertSingleError(result, "stratificationFactors.ecog", "'2' is not a level");
    }

    [Fact]
    public void For_LevelInOtherCase_ErrorBecauseLevelsAreExact()
    {
        var result = Strata.For(Lj, "CN01", Values(("ecog", "0"), ("liver-mets", "YES")));

        AssertSingleError(result, "stratificationFactors.liver-mets", "not a level");
    }

    [Fact]
    public void For_UnknownExtraFactor_ErrorOnThatFactor()
    {
        var result = Strata.For(Lj, "CN01", Values(("ecog", "0"), ("liver-mets", "yes"), ("kras", "mutant")));

        AssertSingleError(result, "stratificationFactors.kras", "not a stratification factor");
    }

    [Fact]
    public void For_UnknownSite_ErrorOnSiteId()
    {
        var result = Strata.For(Lj, "XX99", Values(("ecog", "0"), ("liver-mets", "yes")));

        AssertSingleError(result, "siteId", "XX99");
    }

    [Fact]
    public void For_SeveralProblems_AllReported()
    {
        var result = Strata.For(BySiteAndEcog, "S9", Values(("kras", "wild"), ("braf", "v600e")));

        AssertInvalid(result, "siteId", "stratificationFactors.ecog", "stratificationFactors.kras", "stratificationFactors.braf");
    }

    [Fact]
    public void For_SingleArm_RandomizationNotApplicable()
    {
        var result = Strata.For(Akk, "CN01", null);

        Assert.False(result.IsSuccess);
        Assert.Equal("randomization-not-applicable", result.Error!.Code);
    }
}
