using Iwrs.Domain.Studies;
using static Iwrs.Domain.Tests.Studies.Definitions;
using static Iwrs.Domain.Tests.Studies.StudyFiles;

namespace Iwrs.Domain.Tests.Studies;

public sealed class StudyConfigurationValidationTests
{
    [Fact]
    public void Create_BaseDefinition_IsValid()
    {
        var c = Valid(Randomized());

        Assert.Equal(["S1", "S2"], c.Sites.Select(s => s.SiteId));
        Assert.Equal([2, 4], c.Randomization!.BlockSizes);
    }

    [Fact]
    public void Create_NullDefinition_FailsAtRoot()
    {
        var result = StudyConfiguration.Create(null);

        AssertInvalid(result, "$");
    }

    [Fact]
    public void Create_EmptyDefinition_NamesEveryRequiredTopLevelField()
    {
        var result = StudyConfiguration.Create(new StudyDefinition());

        AssertInvalid(result, "studyId", "version", "title", "status", "design", "arms", "kitTypes", "visitSchedule", "supply", "sites");
        Assert.Equal("The study configuration is not valid.", result.Error!.Message);
    }

    [Fact]
    public void Create_EmptyDesignAndSections_NamesEveryRequiredNestedField()
    {
        var d = new StudyDefinition
        {
            StudyId = "X",
            Version = 1,
            Title = "T",
            Status = "open",
            Design = new DesignDefinition(),
            Arms = [new ArmDefinition()],
            KitTypes = [new KitTypeDefinition()],
            VisitSchedule = new VisitScheduleDefinition(),
            Supply = new SupplyDefinition(),
            Sites = [new SiteDefinition()],
        };

        AssertInvalid(
            StudyConfiguration.Create(d),
            "design.allocation", "design.blinding",
            "arms[0].code", "arms[0].name", "arms[0].ratio", "arms[0].kitType",
            "kitTypes[0].code", "kitTypes[0].description", "kitTypes[0].unitsPerKit", "kitTypes[0].unit",
            "visitSchedule.cycleLengthDays", "visitSchedule.windowDays", "visitSchedule.dispensingVisits", "visitSchedule.kitsPerVisit",
            "supply.triggerLevel", "supply.maximumLevel", "supply.leadTimeDays", "supply.doNotDispenseDays",
            "sites[0].siteId", "sites[0].name", "sites[0].country", "sites[0].timeZone", "sites[0].active");
    }

    [Fact]
    public void Create_ErrorsInManySections_ListsThemAllAtOnce()
    {
        var d = Randomized()
            .WithArm(1, a => a with { Ratio = 0 })
            .WithSite(0, s => s with { Country = "xx" }) with
        {
            StudyId = "bad id",
            Version = 0,
            VisitSchedule = Randomized().VisitSchedule! with { WindowDays = 20 },
            Assumptions = new Dictionary<string, string> { ["k"] = "" },
        };

        AssertInvalid(
            StudyConfiguration.Create(d),
            "studyId", "version", "arms[1].ratio", "kitTypes[1].code", "visitSchedule.windowDays", "sites[0].country", "assumptions.k");
    }

    [Fact]
    public void Create_NullListElements_ReportedByIndex()
    {
        var d = Randomized() with
        {
            Arms = [Arm("A", "Active", 1, "KA"), null],
            Sites = [null, Site("S2", "FR", "Europe/Paris")],
        };

        AssertInvalid(StudyConfiguration.Create(d), "arms[1]", "kitTypes[1].code", "sites[0]");
    }

    [Theory]
    [InlineData(new[] { 4 }, "randomization.blockSizes[0]")]
    [InlineData(new[] { 3, 4, 6 }, "randomization.blockSizes[1]")]
    [InlineData(new[] { 6, 6 }, "randomization.blockSizes[1]")]
    [InlineData(new[] { 1 }, "randomization.blockSizes[0]")]
    [InlineData(new[] { 102 }, "randomization.blockSizes[0]")]
    [InlineData(new int[0], "randomization.blockSizes")]
    public void Create_BlockSizeNotUsableForRatioTwoToOne_Rejected(int[] blockSizes, string field)
    {
        var d = Randomized().WithArm(0, a => a with { Ratio = 2 }).WithRandomization(r => r with { BlockSizes = blockSizes });

        AssertInvalid(StudyConfiguration.Create(d), field);
    }

    [Theory]
    [InlineData(new[] { 6 })]
    [InlineData(new[] { 3 })]
    [InlineData(new[] { 3, 6, 99 })]
    public void Create_BlockSizesMultipleOfRatioTwoToOne_Accepted(int[] blockSizes)
    {
        var d = Randomized().WithArm(0, a => a with { Ratio = 2 }).WithRandomization(r => r with { BlockSizes = blockSizes });

        var c = Valid(d);

        Assert.Equal(blockSizes, c.Randomization!.BlockSizes);
        Assert.Equal([2, 1], c.Arms.Select(a => a.Ratio));
    }

    [Fact]
    public void Create_BlockSizesMissing_Rejected()
    {
        var d = Randomized().WithRandomization(r => r with { BlockSizes = null });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.blockSizes");
    }

    [Fact]
    public void Create_DuplicateArmCode_RejectedAtSecondArm()
    {
        var d = Randomized().WithArm(1, a => a with { Code = "A" });

        AssertInvalid(StudyConfiguration.Create(d), "arms[1].code");
    }

    [Fact]
    public void Create_DuplicateKitTypeCode_RejectedAtSecondKitType()
    {
        var d = Randomized() with { KitTypes = [Kit("KA", "Active bottle"), Kit("KB", "Control bottle"), Kit("KA", "Another bottle")] };

        AssertInvalid(StudyConfiguration.Create(d), "kitTypes[2].code");
    }

    /// <summary>A blinded shipment carries one kit of every type and holds at most 40 kits, so 41 types could not ship.</summary>
    [Fact]
    public void Create_MoreKitTypesThanAShipmentHolds_Rejected()
    {
        var d = Randomized() with { KitTypes = [.. Randomized().KitTypes!, .. Enumerable.Range(0, 39).Select(i => Kit($"KX{i}", "Spare bottle"))] };
        Assert.Equal(41, d.KitTypes!.Count);

        AssertInvalid(StudyConfiguration.Create(d), "kitTypes");
    }

    [Fact]
    public void Create_DuplicateSiteId_RejectedAtSecondSite()
    {
        var d = Randomized().WithSite(1, s => s with { SiteId = "S1" });

        AssertInvalid(StudyConfiguration.Create(d), "sites[1].siteId");
    }

    [Fact]
    public void Create_DuplicateFactorLevel_RejectedAtRepeatedLevel()
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0", "1", "1")] });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratificationFactors[0].levels[2]");
    }

    [Fact]
    public void Create_DuplicateFactorCode_RejectedAtSecondFactor()
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0", "1"), Factor("ecog", "a", "b")] });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratificationFactors[1].code");
    }

    [Fact]
    public void Create_ArmWithUnknownKitType_RejectedAndOrphanKitTypeReported()
    {
        var d = Randomized().WithArm(1, a => a with { KitType = "KX" });

        AssertInvalid(StudyConfiguration.Create(d), "arms[1].kitType", "kitTypes[1].code");
    }

    [Fact]
    public void Create_TwoArmsWithSameKitType_Rejected()
    {
        var d = Randomized().WithArm(1, a => a with { KitType = "KA" });

        AssertInvalid(StudyConfiguration.Create(d), "arms[1].kitType", "kitTypes[1].code");
    }

    [Fact]
    public void Create_KitTypeUsedByNoArm_Rejected()
    {
        var d = Randomized() with { KitTypes = [.. Randomized().KitTypes!, Kit("KC", "Spare bottle")] };

        AssertInvalid(StudyConfiguration.Create(d), "kitTypes[2].code");
    }

    [Fact]
    public void Create_SingleArmWithTwoArms_Rejected()
    {
        var akk = StudyFiles.Akk;
        var d = akk with
        {
            Arms = [.. akk.Arms!, Arm("AKK2", "Second arm", 1, "AKK2-CAPS")],
            KitTypes = [.. akk.KitTypes!, Kit("AKK2-CAPS", "Second bottle")],
        };

        AssertInvalid(StudyConfiguration.Create(d), "arms");
    }

    [Fact]
    public void Create_SingleArmBlinded_Rejected()
    {
        var d = StudyFiles.Akk with { Design = new DesignDefinition { Allocation = "single-arm", Blinding = "blinded" } };

        AssertInvalid(StudyConfiguration.Create(d), "design.blinding");
    }

    [Fact]
    public void Create_RandomizedWithOneArm_Rejected()
    {
        var d = Randomized() with { Arms = [Arm("A", "Active", 1, "KA")], KitTypes = [Kit("KA", "Active bottle")] };

        AssertInvalid(StudyConfiguration.Create(d), "arms");
    }

    [Fact]
    public void Create_RandomizedWithoutRandomizationSection_Rejected()
    {
        var d = Randomized() with { Randomization = null };

        AssertInvalid(StudyConfiguration.Create(d), "randomization");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("none")]
    [InlineData("minimization")]
    [InlineData("Permuted-Block")]
    public void Create_RandomizedWithOtherMethod_Rejected(string? method)
    {
        var d = Randomized().WithRandomization(r => r with { Method = method });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.method");
    }

    [Fact]
    public void Create_SingleArmWithPermutedBlock_Rejected()
    {
        var d = StudyFiles.Akk with { Randomization = new RandomizationDefinition { Method = "permuted-block", BlockSizes = [2] } };

        AssertInvalid(StudyConfiguration.Create(d), "randomization.method");
    }

    [Theory]
    [InlineData("none")]
    [InlineData(null)]
    public void Create_SingleArmWithNoRandomizationMethod_AcceptedWithoutScheme(string? method)
    {
        var d = StudyFiles.Akk with { Randomization = new RandomizationDefinition { Method = method } };

        Assert.Null(Valid(d).Randomization);
    }

    [Fact]
    public void Create_FactorCodedSite_RejectedAsReserved()
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0", "1"), Factor("site", "a", "b")] });

        var result = StudyConfiguration.Create(d);

        AssertInvalid(result, "randomization.stratificationFactors[1].code");
        Assert.Contains("stratifyBySite", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_FactorWithOneLevel_Rejected()
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0")] });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratificationFactors[0].levels");
    }

    [Fact]
    public void Create_FactorWithoutLevels_Rejected()
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [new StratificationFactorDefinition { Code = "ecog", Name = "ECOG" }] });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratificationFactors[0].levels");
    }

    [Fact]
    public void Create_StratifyBySiteMissing_Rejected()
    {
        var d = Randomized().WithRandomization(r => r with { StratifyBySite = null });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratifyBySite");
    }

    [Theory]
    [InlineData(21, 10, true)]
    [InlineData(21, 11, false)]
    [InlineData(20, 9, true)]
    [InlineData(20, 10, false)]
    [InlineData(1, 0, true)]
    [InlineData(2, 1, false)]
    public void Create_WindowAgainstHalfCycle_RejectedWhenNotLess(int cycle, int window, bool valid)
    {
        var d = Randomized() with { VisitSchedule = Randomized().VisitSchedule! with { CycleLengthDays = cycle, WindowDays = window } };

        var result = StudyConfiguration.Create(d);

        if (valid)
        {
            Assert.True(result.IsSuccess, Describe(result.Error));
        }
        else
        {
            AssertInvalid(result, "visitSchedule.windowDays");
        }
    }

    [Theory]
    [InlineData(6, 6, false)]
    [InlineData(7, 6, false)]
    [InlineData(5, 6, true)]
    [InlineData(0, 1, true)]
    public void Create_MaximumLevelNotAboveTrigger_Rejected(int trigger, int maximum, bool valid)
    {
        var d = Randomized() with { Supply = Definitions.Supply(trigger, maximum, 5, 7) };

        var result = StudyConfiguration.Create(d);

        if (valid)
        {
            Assert.Equal(new SupplySettings(trigger, maximum, 5, 7), Valid(d).Supply);
        }
        else
        {
            AssertInvalid(result, "supply.maximumLevel");
        }
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Create_MaximumLevelBelowKitsPerVisit_Rejected(int maximum, bool valid)
    {
        var d = Randomized() with
        {
            VisitSchedule = Randomized().VisitSchedule! with { KitsPerVisit = 3 },
            Supply = Definitions.Supply(0, maximum, 5, 7),
        };

        var result = StudyConfiguration.Create(d);

        if (valid)
        {
            Assert.True(result.IsSuccess, Describe(result.Error));
        }
        else
        {
            AssertInvalid(result, "supply.maximumLevel");
        }
    }

    public static TheoryData<string> BadIdentifiers =>
    [
        "A/B", "A\\B", "A#B", "A?B", "A B", " A", "A ", "A|B", "A\tB", "A\u0000B", "ÄB", "日本", "A+B", "", new string('x', 65),
    ];

    [Theory]
    [MemberData(nameof(BadIdentifiers))]
    public void Create_BadStudyId_Rejected(string id)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized() with { StudyId = id }), "studyId");
    }

    [Theory]
    [MemberData(nameof(BadIdentifiers))]
    public void Create_BadSiteId_Rejected(string id)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized().WithSite(1, s => s with { SiteId = id })), "sites[1].siteId");
    }

    [Theory]
    [MemberData(nameof(BadIdentifiers))]
    public void Create_BadFactorLevel_Rejected(string level)
    {
        var d = Randomized().WithRandomization(r => r with { StratificationFactors = [Factor("ecog", "0", level)] });

        AssertInvalid(StudyConfiguration.Create(d), "randomization.stratificationFactors[0].levels[1]");
    }

    [Theory]
    [MemberData(nameof(BadIdentifiers))]
    public void Create_BadVisitPrefix_Rejected(string prefix)
    {
        var d = Randomized() with { VisitSchedule = Randomized().VisitSchedule! with { VisitPrefix = prefix } };

        AssertInvalid(StudyConfiguration.Create(d), "visitSchedule.visitPrefix");
    }

    [Fact]
    public void Create_IdentifiersOfSixtyFourAllowedCharacters_Accepted()
    {
        var id = new string('a', 60) + "-_.9";

        var c = Valid(Randomized() with { StudyId = id });

        Assert.Equal(id, c.StudyId);
    }

    [Fact]
    public void Create_VisitPrefixOmitted_DefaultsToC()
    {
        var d = Randomized() with { VisitSchedule = Randomized().VisitSchedule! with { VisitPrefix = null } };

        Assert.Equal("C", Valid(d).VisitSchedule.VisitPrefix);
    }

    [Theory]
    [InlineData("cn")]
    [InlineData("CHN")]
    [InlineData("C")]
    [InlineData("C1")]
    [InlineData("")]
    [InlineData(" CN")]
    [InlineData("ÄB")]
    [InlineData(null)]
    public void Create_BadCountry_Rejected(string? country)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized().WithSite(0, s => s with { Country = country })), "sites[0].country");
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("Asia/Nowhere")]
    [InlineData("Shanghai")]
    [InlineData(null)]
    [InlineData("  ")]
    public void Create_UnknownTimeZone_Rejected(string? zone)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized().WithSite(0, s => s with { TimeZone = zone })), "sites[0].timeZone");
    }

    [Theory]
    [InlineData("Asia/Shanghai", "Asia/Shanghai")]
    [InlineData("UTC", "UTC")]
    [InlineData("  America/New_York ", "America/New_York")]
    public void Create_KnownTimeZone_AcceptedTrimmed(string zone, string expected)
    {
        Assert.Equal(expected, Valid(Randomized().WithSite(0, s => s with { TimeZone = zone })).Sites[0].TimeZone);
    }

    [Fact]
    public void Create_SiteActiveMissing_Rejected()
    {
        AssertInvalid(StudyConfiguration.Create(Randomized().WithSite(1, s => s with { Active = null })), "sites[1].active");
    }

    [Fact]
    public void Create_SiteSupplyOverrideMaximumNotAboveTrigger_RejectedAtSitePath()
    {
        var d = Randomized().WithSite(1, s => s with { Supply = Definitions.Supply(2, 2, 5, 7) });

        AssertInvalid(StudyConfiguration.Create(d), "sites[1].supply.maximumLevel");
    }

    [Fact]
    public void Create_SiteSupplyOverrideIncomplete_EveryMissingFieldAtSitePath()
    {
        var d = Randomized().WithSite(0, s => s with { Supply = Definitions.Supply(1, null, null, null) });

        AssertInvalid(StudyConfiguration.Create(d), "sites[0].supply.maximumLevel", "sites[0].supply.leadTimeDays", "sites[0].supply.doNotDispenseDays");
    }

    [Fact]
    public void Create_SiteSupplyOverrideBelowKitsPerVisit_RejectedAtSitePath()
    {
        var d = Randomized().WithSite(0, s => s with { Supply = Definitions.Supply(0, 1, 5, 7) }) with
        {
            VisitSchedule = Randomized().VisitSchedule! with { KitsPerVisit = 2 },
        };

        AssertInvalid(StudyConfiguration.Create(d), "sites[0].supply.maximumLevel");
    }

    [Fact]
    public void Create_ValidSiteSupplyOverride_UsedForThatSiteOnly()
    {
        var c = Valid(Randomized().WithSite(0, s => s with { Supply = Definitions.Supply(4, 10, 2, 3) }));

        Assert.Equal(new SupplySettings(4, 10, 2, 3), c.Sites[0].Supply);
        Assert.Equal(new SupplySettings(2, 6, 5, 7), c.Sites[1].Supply);
        Assert.Equal(new SupplySettings(2, 6, 5, 7), c.Supply);
    }

    [Fact]
    public void Create_InvalidStudySupplyInheritedBySites_ReportedOnceAtStudyPath()
    {
        var d = Randomized() with { Supply = Definitions.Supply(3, 2, 5, 7) };

        AssertInvalid(StudyConfiguration.Create(d), "supply.maximumLevel");
    }

    [Theory]
    [InlineData(false, new[] { 10, 10, 10 }, true)]
    [InlineData(false, new[] { 10, 10, 10, 2 }, false)]
    [InlineData(false, new[] { 11, 11, 9 }, false)]
    [InlineData(true, new[] { 10, 10, 5 }, true)]
    [InlineData(true, new[] { 10, 10, 10 }, false)]
    [InlineData(true, new[] { 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100 }, false)]
    public void Create_StrataCount_RejectedAboveOneThousand(bool bySite, int[] levelCounts, bool valid)
    {
        var d = Randomized().WithRandomization(r => r with
        {
            StratifyBySite = bySite,
            StratificationFactors = levelCounts.Select((n, i) => FactorWithLevels("f" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), n)).ToList(),
        });

        var result = StudyConfiguration.Create(d);

        if (valid)
        {
            Assert.True(result.IsSuccess, Describe(result.Error));
        }
        else
        {
            AssertInvalid(result, "randomization.stratificationFactors");
        }
    }

    [Theory]
    [InlineData("supply", "")]
    [InlineData("supply", "   ")]
    [InlineData(" ", "A reason.")]
    public void Create_AssumptionWithoutText_Rejected(string key, string text)
    {
        var d = Randomized() with { Assumptions = new Dictionary<string, string> { ["sites"] = "Fine.", [key] = text } };

        AssertInvalid(StudyConfiguration.Create(d), "assumptions." + key);
    }

    [Fact]
    public void Create_AssumptionTextLength_AtMostTwoThousand()
    {
        var ok = Randomized() with { Assumptions = new Dictionary<string, string> { ["supply"] = new string('a', 2000) } };
        var tooLong = Randomized() with { Assumptions = new Dictionary<string, string> { ["supply"] = new string('a', 2001) } };

        Assert.Equal(2000, Valid(ok).Assumptions["supply"].Length);
        AssertInvalid(StudyConfiguration.Create(tooLong), "assumptions.supply");
    }

    [Fact]
    public void Create_AssumptionsOmitted_EmptyAssumptions()
    {
        Assert.Empty(Valid(Randomized() with { Assumptions = null }).Assumptions);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(1_000_001, false)]
    [InlineData(1_000_000, true)]
    [InlineData(1, true)]
    public void Create_Version_BetweenOneAndOneMillion(int version, bool valid)
    {
        var result = StudyConfiguration.Create(Randomized() with { Version = version });

        if (valid)
        {
            Assert.Equal(version, result.Value.Version);
        }
        else
        {
            AssertInvalid(result, "version");
        }
    }

    [Theory]
    [InlineData("Open")]
    [InlineData("paused")]
    [InlineData("")]
    public void Create_UnknownStatus_Rejected(string status)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized() with { Status = status }), "status");
    }

    [Theory]
    [InlineData("setup", StudyStatus.Setup)]
    [InlineData("open", StudyStatus.Open)]
    [InlineData("closed", StudyStatus.Closed)]
    public void Create_KnownStatus_Parsed(string status, StudyStatus expected)
    {
        Assert.Equal(expected, Valid(Randomized() with { Status = status }).Status);
    }

    [Theory]
    [InlineData("Randomized", "blinded", "design.allocation")]
    [InlineData("randomized", "double-blind", "design.blinding")]
    public void Create_UnknownDesignValue_Rejected(string allocation, string blinding, string field)
    {
        var d = Randomized() with { Design = new DesignDefinition { Allocation = allocation, Blinding = blinding } };

        AssertInvalid(StudyConfiguration.Create(d), field);
    }

    [Fact]
    public void Create_OpenLabelRandomized_Accepted()
    {
        var c = Valid(Randomized() with { Design = new DesignDefinition { Allocation = "randomized", Blinding = "open-label" } });

        Assert.False(c.IsBlinded);
        Assert.Equal(Allocation.Randomized, c.Allocation);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(0)]
    public void Create_TitleLengthOutOfRange_Rejected(int length)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized() with { Title = new string('t', length) }), "title");
    }

    [Theory]
    [InlineData("a\nb")]
    [InlineData("a\u0007b")]
    [InlineData("   ")]
    public void Create_TitleBlankOrWithControlCharacters_Rejected(string title)
    {
        AssertInvalid(StudyConfiguration.Create(Randomized() with { Title = title }), "title");
    }

    [Fact]
    public void Create_ProtocolOmitted_AcceptedAsNull()
    {
        Assert.Null(Valid(Randomized() with { Protocol = null }).Protocol);
    }

    [Fact]
    public void Create_ProtocolBlank_Rejected()
    {
        AssertInvalid(StudyConfiguration.Create(Randomized() with { Protocol = " " }), "protocol");
    }

    [Theory]
    [InlineData(0, "arms[0].ratio")]
    [InlineData(21, "arms[0].ratio")]
    public void Create_RatioOutOfRange_Rejected(int ratio, string field)
    {
        var d = Randomized().WithArm(0, a => a with { Ratio = ratio });

        // The arm is dropped, so its kit type is reported as unused too.
        AssertInvalid(StudyConfiguration.Create(d), field, "kitTypes[0].code");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    public void Create_UnitsPerKitOutOfRange_Rejected(int units)
    {
        var d = Randomized() with { KitTypes = [Kit("KA", "Active bottle") with { UnitsPerKit = units }, Kit("KB", "Control bottle")] };

        // The kit type is dropped, so the arm that dispenses it refers to an unknown kit type.
        AssertInvalid(StudyConfiguration.Create(d), "kitTypes[0].unitsPerKit", "arms[0].kitType");
    }
}
