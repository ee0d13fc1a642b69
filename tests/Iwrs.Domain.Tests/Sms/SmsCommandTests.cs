using Iwrs.Domain.Sms;
using Iwrs.Domain.Tests.Studies;

namespace Iwrs.Domain.Tests.Sms;

public sealed class SmsCommandTests
{
    [Fact]
    public void Parse_RandWithFactorsAnyCaseAndSpaces_ReadsEveryPart()
    {
        var command = Assert.IsType<SmsCommand.Randomize>(SmsCommands.Parse("  rand   LJ-MCRC  S-001\tCN01  ECOG=0   liver-mets=yes  2468 "));

        Assert.Equal(("LJ-MCRC", "S-001", "CN01", "2468"), (command.Study, command.Subject, command.Site, command.Pin));
        Assert.Equal("0", command.Factors["ecog"]);
        Assert.Equal("yes", command.Factors["LIVER-METS"]);
    }

    [Fact]
    public void Parse_RandWithoutFactors_IsARandomizeCommand()
    {
        var command = Assert.IsType<SmsCommand.Randomize>(SmsCommands.Parse("RAND AKK-MCRC E-1 CN01 2468"));

        Assert.Empty(command.Factors);
    }

    [Theory]
    [InlineData("disp LJ-MCRC S-001 c2 2468", typeof(SmsCommand.Dispense))]
    [InlineData("RECV LJ-MCRC SH0001 2468", typeof(SmsCommand.Receive))]
    [InlineData("Status  AKK-MCRC E-1 2468", typeof(SmsCommand.Status))]
    [InlineData("help", typeof(SmsCommand.Help))]
    [InlineData("INFO", typeof(SmsCommand.Help))]
    [InlineData("commands", typeof(SmsCommand.Help))]
    [InlineData("k7m4px", typeof(SmsCommand.Confirm))]
    [InlineData("CONFIRM K7M4PX", typeof(SmsCommand.Confirm))]
    [InlineData("UNBLIND LJ-MCRC S-001 2468", typeof(SmsCommand.Unblind))]
    [InlineData("stop", typeof(SmsCommand.OptOut))]
    [InlineData("UNSUBSCRIBE", typeof(SmsCommand.OptOut))]
    [InlineData("Start", typeof(SmsCommand.OptIn))]
    [InlineData("stop sending me these", typeof(SmsCommand.Invalid))]
    public void Parse_EachCommand_ItsKind(string text, Type expected) => Assert.IsType(expected, SmsCommands.Parse(text));

    [Theory]
    [InlineData(" help ", true)]
    [InlineData("Info", true)]
    [InlineData("COMMANDS", false)]
    [InlineData("HELP RAND", false)]
    public void IsTwilioHelpKeyword_OnlyTheWordsAdvancedOptOutAnswers(string text, bool expected) =>
        Assert.Equal(expected, SmsCommands.IsTwilioHelpKeyword(text));

    [Fact]
    public void Parse_ConfirmationCode_UpperCased()
    {
        Assert.Equal("K7M4PX", Assert.IsType<SmsCommand.Confirm>(SmsCommands.Parse(" k7M4px ")).Code);
    }

    [Theory]
    [InlineData(null, "a command")]
    [InlineData("   ", "a command")]
    [InlineData("hello there", "RAND, DISP, RECV, STATUS or HELP first")]
    [InlineData("RAND LJ-MCRC S-001", SmsCommands.RandomizeUsage)]
    [InlineData("RAND LJ-MCRC S-001 CN01 ecog=0 pin", "your PIN (4 to 8 digits) comes last")]
    [InlineData("RAND LJ-MCRC S-001 CN01 ecog 2468", "factors are written factor=value")]
    [InlineData("RAND LJ-MCRC S-001 CN01 ecog=0 ecog=1 2468", "is given twice")]
    [InlineData("RAND LJ/MCRC S-001 CN01 2468", "is not a study id")]
    [InlineData("DISP LJ-MCRC S-001 2468", SmsCommands.DispenseUsage)]
    [InlineData("RECV LJ-MCRC 2468", SmsCommands.ReceiveUsage)]
    [InlineData("STATUS LJ-MCRC S-001 C2 2468", SmsCommands.StatusUsage)]
    [InlineData("CONFIRM 12", "code the RAND reply gave")]
    public void Parse_BadInput_SaysWhatWasExpected(string? text, string expected)
    {
        var invalid = Assert.IsType<SmsCommand.Invalid>(SmsCommands.Parse(text));

        Assert.Contains(expected, invalid.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TooLong_RefusedUnread()
    {
        var invalid = Assert.IsType<SmsCommand.Invalid>(SmsCommands.Parse("RAND " + new string('x', SmsCommands.MaxLength)));

        Assert.Contains("at most 480 characters", invalid.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LongGarbageWord_EchoedCutShort()
    {
        var invalid = Assert.IsType<SmsCommand.Invalid>(SmsCommands.Parse($"RAND LJ-MCRC S-001 CN01 {new string('q', 100)} 2468"));

        Assert.DoesNotContain(new string('q', 21), invalid.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void MatchFactors_AnyCase_StudySpelling()
    {
        var study = StudyFiles.Valid(StudyFiles.Lj);

        var matched = SmsCommands.MatchFactors(study, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["ECOG"] = "0", ["Liver-Mets"] = "YES", ["other"] = "x" });

        Assert.Equal(("0", "yes", "x"), (matched["ecog"], matched["liver-mets"], matched["other"]));
    }

    [Fact]
    public void Match_AnyCase_KnownSpellingOrNull()
    {
        Assert.Equal("CN01", SmsCommands.Match(["CN01", "CN02"], "cn01"));
        Assert.Null(SmsCommands.Match(["CN01"], "CN09"));
    }
}
