using System.Text.Json;
using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Studies.Definitions;
using static Iwrs.Domain.Tests.Studies.StudyFiles;

namespace Iwrs.Domain.Tests.Studies;

public sealed class StudyConfigurationDefinitionTests
{
    public static TheoryData<string> Studies => ["lj", "akk", "randomized", "site-override", "no-protocol", "by-site", "packs"];

    private static StudyDefinition Named(string name) => name switch
    {
        "lj" => StudyFiles.Lj,
        "akk" => StudyFiles.Akk,
        "randomized" => Randomized(),
        "site-override" => Randomized().WithSite(1, s => s with { Supply = Definitions.Supply(1, 3, 2, 0) }),
        "no-protocol" => Randomized() with { Protocol = null, Assumptions = null },
        "by-site" => Randomized().WithRandomization(r => r with { StratifyBySite = true, StratificationFactors = [] }),
        "packs" => StudyFiles.Lj with { Supply = StudyFiles.Lj.Supply! with { SubjectPacks = new SubjectPacksDefinition { StarterSize = 4, StarterTrigger = 8, PackVisits = 1 } } },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>Every field of a configuration, as JSON; assumptions sorted because a dictionary has no order.</summary>
    private static string Everything(StudyConfiguration c) =>
        JsonSerializer.Serialize(
            c with { Assumptions = new SortedDictionary<string, string>(c.Assumptions.ToDictionary(), StringComparer.Ordinal) },
            ReadOptions);

    private static string Canonical(StudyConfiguration c) => Json(c.ToDefinition());

    [Theory]
    [MemberData(nameof(Studies))]
    public void ToDefinition_CreatedAgain_EqualsOriginalInEveryField(string name)
    {
        var original = Valid(Named(name));

        var again = Valid(original.ToDefinition());

        Assert.Equal(Everything(original), Everything(again));
    }

    [Theory]
    [MemberData(nameof(Studies))]
    public void ToDefinition_SerializedTwice_IdenticalText(string name)
    {
        var c = Valid(Named(name));

        Assert.Equal(Canonical(c), Canonical(c));
        Assert.Equal(Canonical(c), Canonical(Valid(Named(name))));
    }

    [Theory]
    [MemberData(nameof(Studies))]
    public void ToDefinition_CanonicalJsonReadBack_IsAFixedPoint(string name)
    {
        var canonical = Canonical(Valid(Named(name)));

        var reread = JsonSerializer.Deserialize<StudyDefinition>(canonical, ReadOptions);

        Assert.Equal(canonical, Canonical(Valid(reread!)));
    }

    [Fact]
    public void ToDefinition_AssumptionsInAnyOrder_SameCanonicalJson()
    {
        var first = Randomized() with { Assumptions = new Dictionary<string, string> { ["b"] = "Second.", ["a"] = "First.", ["sites"] = "Third." } };
        var second = Randomized() with { Assumptions = new Dictionary<string, string> { ["sites"] = "Third.", ["a"] = "First.", ["b"] = "Second." } };

        var canonical = Canonical(Valid(first));

        Assert.Equal(canonical, Canonical(Valid(second)));
        Assert.EndsWith("\"assumptions\":{\"a\":\"First.\",\"b\":\"Second.\",\"sites\":\"Third.\"}}", canonical, StringComparison.Ordinal);
    }

    [Fact]
    public void ToDefinition_ValuesDiffer_CanonicalJsonDiffers()
    {
        var baseline = Canonical(Valid(Randomized()));

        Assert.NotEqual(baseline, Canonical(Valid(Randomized() with { Version = 2 })));
        Assert.NotEqual(baseline, Canonical(Valid(Randomized().WithRandomization(r => r with { BlockSizes = [4, 2] }))));
        Assert.NotEqual(baseline, Canonical(Valid(Randomized().WithSite(0, s => s with { Active = false }))));
        Assert.NotEqual(baseline, Canonical(Valid(Randomized().WithSite(0, s => s with { Supply = Definitions.Supply(2, 6, 5, 8) }))));
    }

    [Fact]
    public void ToDefinition_UntrimmedText_TrimmedAndCanonicalJsonUnchanged()
    {
        var padded = Randomized()
            .WithArm(0, a => a with { Name = "  Active " })
            .WithSite(0, s => s with { Name = " Site S1  ", TimeZone = " Europe/Berlin " })
            .WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0", "1") with { Name = " Factor ecog " }] }) with
        {
            Title = "  Test study  ",
            Protocol = " TP-001 ",
            KitTypes = [Kit("KA", " Active bottle ") with { Unit = " capsule " }, Kit("KB", "Control bottle")],
        };

        var c = Valid(padded);
        var d = c.ToDefinition();

        Assert.Equal("Test study", d.Title);
        Assert.Equal("TP-001", d.Protocol);
        Assert.Equal("Active", d.Arms![0]!.Name);
        Assert.Equal("Site S1", d.Sites![0]!.Name);
        Assert.Equal("Europe/Berlin", d.Sites[0]!.TimeZone);
        Assert.Equal("Factor ecog", d.Randomization!.StratificationFactors![0]!.Name);
        Assert.Equal("Active bottle", d.KitTypes![0]!.Description);
        Assert.Equal("capsule", d.KitTypes[0]!.Unit);
        Assert.Equal(Canonical(Valid(Randomized())), Canonical(c));
    }

    [Fact]
    public void ToDefinition_UntrimmedAssumptionText_TrimmedLikeOtherText()
    {
        var padded = Randomized() with { Assumptions = new Dictionary<string, string> { ["supply"] = "  Usual levels for a small study. " } };

        var c = Valid(padded);

        Assert.Equal("Usual levels for a small study.", c.ToDefinition().Assumptions!["supply"]);
        Assert.Equal(Canonical(Valid(Randomized())), Canonical(c));
    }

    [Fact]
    public void ToDefinition_SitesWithoutSupply_FilledInWithStudySupply()
    {
        var d = Valid(StudyFiles.Lj).ToDefinition();

        Assert.All(d.Sites!, s => Assert.Equal(Definitions.Supply(28, 40, 5, 7), s!.Supply));
    }

    [Fact]
    public void ToDefinition_RandomizedStudy_WritesPermutedBlockMethod()
    {
        var d = Valid(StudyFiles.Lj).ToDefinition();

        Assert.Equal("randomized", d.Design!.Allocation);
        Assert.Equal("blinded", d.Design.Blinding);
        Assert.Equal("open", d.Status);
        Assert.Equal("permuted-block", d.Randomization!.Method);
        Assert.Equal([4, 6], d.Randomization.BlockSizes!);
        Assert.False(d.Randomization.StratifyBySite);
    }

    [Fact]
    public void ToDefinition_SingleArmWithMethodNone_OmitsRandomization()
    {
        var c = Valid(StudyFiles.Akk with { Randomization = new RandomizationDefinition { Method = "none" } });

        var d = c.ToDefinition();

        Assert.Null(d.Randomization);
        Assert.Equal("single-arm", d.Design!.Allocation);
        Assert.Equal("open-label", d.Design.Blinding);
        Assert.DoesNotContain("randomization\"", Json(d), StringComparison.Ordinal);
    }

    [Fact]
    public void ToDefinition_StatusSetupAndClosed_WrittenAsWireNames()
    {
        Assert.Equal("setup", Valid(Randomized() with { Status = "setup" }).ToDefinition().Status);
        Assert.Equal("closed", Valid(Randomized() with { Status = "closed" }).ToDefinition().Status);
    }
}
