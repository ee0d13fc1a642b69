namespace Iwrs.Simulate.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void Parse_Defaults_ThousandRunsSeedOne()
    {
        var (options, error) = Options.Parse(["--study", "studies/lj-mcrc.json"]);
        Assert.Null(error);
        Assert.Equal(("studies/lj-mcrc.json", 1000, 1UL, true), (options!.StudyPath, options.Runs, options.Seed, options.Progress));
    }

    [Fact]
    public void Parse_Overrides_Applied()
    {
        var (options, _) = Options.Parse(["--study", "x.json", "--runs", "20", "--seed", "9", "--trigger", "5", "--maximum", "9", "--median-pfs-months", "6.5", "--no-progress"]);
        var scenario = options!.Apply(Scenario.For(SimulatedStudies.Lj));
        Assert.Equal((20, 9UL, 5, 9, false), (options.Runs, options.Seed, options.Trigger!.Value, options.Maximum!.Value, options.Progress));
        Assert.Equal(6.5, scenario.MedianPfsMonths);
    }

    [Fact]
    public void Parse_Starter_GivenOrTheDesignsDefault()
    {
        var (given, _) = Options.Parse(["--study", "x.json", "--starter-size", "6", "--starter-trigger", "5"]);
        Assert.Equal((6, 5), (given!.StarterSize!.Value, given.StarterTrigger!.Value));
        var (defaults, _) = Options.Parse(["--study", "x.json"]);
        Assert.Equal((null, null), (defaults!.StarterSize, defaults.StarterTrigger));
        Assert.Equal(Iwrs.Domain.Supply.SubjectPacks.DefaultStarterTrigger, new PackDesign(1, defaults.StarterSize, defaults.StarterTrigger).Trigger);
    }

    [Theory]
    [InlineData("--starter-size", "0")]
    [InlineData("--starter-trigger", "-1")]
    [InlineData("--runs", "0")]
    [InlineData("--runs", "many")]
    [InlineData("--rate-spread", "1.5")]
    [InlineData("--frobnicate", "1")]
    public void Parse_BadValue_Refused(string name, string value)
    {
        var (options, error) = Options.Parse(["--study", "x.json", name, value]);
        Assert.Null(options);
        Assert.Contains(name, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NoStudy_Refused()
    {
        Assert.Equal("--study is required", Options.Parse(["--runs", "5"]).Error);
    }

    [Fact]
    public void Load_LevelOverride_ReachesEverySite()
    {
        var study = SimulatedStudies.Load("studies/lj-mcrc.json", 7, 13);
        Assert.All(study.Sites, s => Assert.Equal((7, 13), (s.Supply.TriggerLevel, s.Supply.MaximumLevel)));
    }

    [Fact]
    public void Load_InvalidLevels_Refused()
    {
        var (study, error) = StudyFile.Load("studies/lj-mcrc.json", 9, 9);
        Assert.Null(study);
        Assert.Contains("supply.maximumLevel", error, StringComparison.Ordinal);
    }
}
