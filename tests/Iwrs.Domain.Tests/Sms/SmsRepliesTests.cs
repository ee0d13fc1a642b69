using Iwrs.Domain.Sms;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Domain.Tests.Studies;

namespace Iwrs.Domain.Tests.Sms;

public sealed class SmsRepliesTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);
    private static readonly StudyConfiguration Lj = StudyFiles.Valid(StudyFiles.Lj);
    private static readonly StudyConfiguration Akk = StudyFiles.Valid(StudyFiles.Akk);

    private static Subject Subject(StudyConfiguration study, params (string Visit, int Day)[] visits) => new(
        "S-001", "CN01", SubjectStatus.Randomized, "R0001", "ecog=0;liver-mets=yes", 3, study.Arms[0].Code, study.Arms[0].KitType, Day1, "coord",
        [.. visits.Select(v => new Dispensation(v.Visit, "KIT" + v.Visit, Day1.AddDays(v.Day), "coord"))], false, null);

    /// <summary>Every reply text, in the blinded study, with the arm and kit type of the subject it is about.</summary>
    private static IEnumerable<string> AllReplies(StudyConfiguration study)
    {
        var subject = Subject(study, ("C1", 0), ("C2", 21));
        var pending = ConfirmationCodes.Create("K7M4PX", "+15550001111", "coord", study.StudyId, "S-001", "CN01", new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" }, Day1);
        var shipment = new Shipment("SH0001", "CN01", ShipmentStatus.Received, [new ShipmentKit("KITA", study.KitTypes[0].Code, KitCondition.Ok)], "resupply", Day1, "depot", Day1, Day1);
        return
        [
            SmsReplies.NotRegistered, SmsReplies.NoUnblinding, SmsReplies.PinNotSet, SmsReplies.Locked, SmsReplies.WrongPin(3), SmsReplies.LockedNow(),
            SmsReplies.NotUnderstood(SmsCommands.RandomizeUsage + "."), SmsReplies.Refused(new DomainError("supply-hold", "Site CN01 is on supply hold.")),
            SmsReplies.Help(study, "CN01"), SmsReplies.ConfirmPrompt(study, pending), SmsReplies.Randomized(study, subject), SmsReplies.Dispensed(study, subject, "C2"),
            SmsReplies.Received(study.StudyId, shipment), SmsReplies.Status(study, subject), SmsReplies.CodeUnknown("K7M4PX"), SmsReplies.CodeExpired("K7M4PX"), SmsReplies.CodeUsed("K7M4PX"),
        ];
    }

    [Fact]
    public void AllReplies_BlindedStudy_NeitherArmNorKitTypeNorListPosition()
    {
        foreach (var reply in AllReplies(Lj))
        {
            foreach (var secret in Lj.Arms.SelectMany(a => new[] { a.Name, a.KitType }).Concat(Lj.KitTypes.Select(k => k.Description)).Append("ecog=0;liver-mets=yes"))
            {
                Assert.DoesNotContain(secret, reply, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public void AllReplies_BothStudies_TwoGsmSegmentsAtMost()
    {
        foreach (var reply in AllReplies(Lj).Concat(AllReplies(Akk)))
        {
            Assert.InRange(SmsReplies.Septets(reply), 1, SmsReplies.MaxLength);
            Assert.All(reply, c => Assert.InRange(c, ' ', '~'));
            Assert.DoesNotContain('`', reply);
        }
    }

    [Fact]
    public void Fit_BacktickAndGsmExtensionCharacters_StayInTwoGsm7Segments()
    {
        Assert.Equal("it's", SmsReplies.Fit("it`s"));
        Assert.Equal(9, SmsReplies.Septets("a|b[c]"));

        // 200 '|' take 400 septets: cut at 151 of them and "..." (302 + 3), not at 303 characters.
        var cut = SmsReplies.Fit(new string('|', 200));
        Assert.Equal(new string('|', 151) + "...", cut);
        Assert.True(SmsReplies.Septets(cut) <= SmsReplies.MaxLength);
        Assert.Equal(new string('a', SmsReplies.MaxLength), SmsReplies.Fit(new string('a', SmsReplies.MaxLength)));
    }

    [Fact]
    public void Refused_LongNonAsciiMessage_FitsInAscii()
    {
        var reply = SmsReplies.Refused(new DomainError("validation-failed", "Trop long… " + new string('é', 400), [new FieldError("x", "× 2")]));

        Assert.Equal(SmsReplies.MaxLength, reply.Length);
        Assert.StartsWith("Iwrs: not done (validation-failed). Trop long... ????", reply, StringComparison.Ordinal);
        Assert.EndsWith("...", reply, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_EachStudy_ExamplesForItsOwnStudyAndFactors()
    {
        var lj = SmsReplies.Help(Lj, "CN02");
        var akk = SmsReplies.Help(Akk, "CN01");

        Assert.Contains("RAND LJ-MCRC S-001 CN02 ecog=0 liver-mets=yes PIN", lj, StringComparison.Ordinal);
        Assert.Contains("DISP LJ-MCRC S-001 C2 PIN", lj, StringComparison.Ordinal);
        Assert.Contains("RAND AKK-MCRC S-001 CN01 PIN", akk, StringComparison.Ordinal);
        Assert.Contains("STATUS AKK-MCRC S-001 PIN", akk, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_LastVisitAndNextDue_OneCycleLater()
    {
        var text = SmsReplies.Status(Lj, Subject(Lj, ("C1", 0), ("C2", 21)));

        Assert.Contains("Last visit C2 on 2026-03-23. Next C3 due 2026-04-13 (+/-3 days).", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_Discontinued_NoFurtherVisits()
    {
        var text = SmsReplies.Status(Lj, Subject(Lj, ("C1", 0)) with { Status = SubjectStatus.Discontinued });

        Assert.Contains("discontinued. Last visit C1 on 2026-03-02. No further visits.", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Randomized_SingleArm_SaysEnrolled()
    {
        Assert.Contains("enrolled, number R0001. Dispense kit KITC1 (C1)", SmsReplies.Randomized(Akk, Subject(Akk, ("C1", 0))), StringComparison.Ordinal);
    }
}
