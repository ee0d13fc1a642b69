using System.Security.Cryptography;
using System.Text;
using Iwrs.Domain.Audit;
using static Iwrs.Domain.Tests.Audit.AuditChain;

namespace Iwrs.Domain.Tests.Audit;

public sealed class AuditRecordTests
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 8, 30, 15, 123, TimeSpan.Zero);

    private static AuditRecord First(AuditEntry entry) => AuditRecord.Append(Study, 0, AuditRecord.GenesisHash, At, entry);

    private static bool IsLowerHex64(string s) => s.Length == 64 && s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    [Fact]
    public void GenesisHash_Is64Zeros()
    {
        Assert.Equal(new string('0', 64), AuditRecord.GenesisHash);
    }

    [Fact]
    public void Append_FirstRecord_SequenceOneLinkedToGenesis()
    {
        var entry = Entry();

        var record = First(entry);

        Assert.Equal(1, record.Sequence);
        Assert.Equal(AuditRecord.GenesisHash, record.PreviousHash);
        Assert.True(IsLowerHex64(record.Hash), record.Hash);
        Assert.NotEqual(AuditRecord.GenesisHash, record.Hash);
        Assert.Equal(Study, record.StudyId);
        Assert.Equal(At, record.At);
        Assert.Equal(entry.UserId, record.UserId);
        Assert.Equal(entry.Role, record.Role);
        Assert.Equal(entry.Channel, record.Channel);
        Assert.Equal(entry.Action, record.Action);
        Assert.Equal(entry.Target, record.Target);
        Assert.Equal(entry.Changes, record.Changes);
        Assert.Equal(entry.Reason, record.Reason);
    }

    [Fact]
    public void Append_AfterRecord_NextSequenceLinkedToPreviousHash()
    {
        var first = First(Entry(1));

        var second = AuditRecord.Append(Study, first.Sequence, first.Hash, At.AddSeconds(1), Entry(2));

        Assert.Equal(2, second.Sequence);
        Assert.Equal(first.Hash, second.PreviousHash);
        Assert.True(IsLowerHex64(second.Hash), second.Hash);
        Assert.NotEqual(first.Hash, second.Hash);
    }

    [Fact]
    public void Append_AfterSequence41_Sequence42()
    {
        Assert.Equal(42, AuditRecord.Append(Study, 41, AuditRecord.GenesisHash, At, Entry()).Sequence);
    }

    [Fact]
    public void Append_AfterMaximumSequence_Throws()
    {
        Assert.Throws<OverflowException>(() => AuditRecord.Append(Study, long.MaxValue, AuditRecord.GenesisHash, At, Entry()));
    }

    [Fact]
    public void Append_SameInputs_SameHash()
    {
        Assert.Equal(First(Entry()).Hash, First(Entry()).Hash);
    }

    [Fact]
    public void Append_SameInstantInAnotherOffset_StoredAsUtcWithSameHash()
    {
        var shanghai = At.ToOffset(TimeSpan.FromHours(8));

        var record = AuditRecord.Append(Study, 0, AuditRecord.GenesisHash, shanghai, Entry());

        Assert.Equal(TimeSpan.Zero, record.At.Offset);
        Assert.Equal(First(Entry()).Hash, record.Hash);
    }

    [Fact]
    public void ExpectedHash_AppendedRecord_EqualsHash()
    {
        var record = First(Entry());

        Assert.Equal(record.Hash, record.ExpectedHash());
    }

    /// <summary>
    /// An independent implementation of the documented encoding: SHA-256 over length-prefixed fields
    /// (null as -1:), time as UTC with 7 fractional digits, channel lower case, changes as count then
    /// field, before, after, u/b. If this breaks, every external verifier breaks with it.
    /// </summary>
    [Fact]
    public void Append_KnownRecord_HashOfDocumentedEncoding()
    {
        var entry = new AuditEntry("u1", "pharmacist", Channel.Sms, "kit.receive", "kit/K1", [new AuditChange("state", null, "received"), new AuditChange("type", "A", "B", true)], null);
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567);
        const string text = "64:" + AuditRecord.GenesisHash + "7:LJ-MCRC" + "1:1" + "28:2025-01-02T03:04:05.1234567Z"
            + "2:u1" + "10:pharmacist" + "3:sms" + "11:kit.receive" + "6:kit/K1" + "1:2"
            + "5:state" + "-1:" + "8:received" + "1:b"
            + "4:type" + "1:A" + "1:B" + "1:u"
            + "-1:";
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

        var record = AuditRecord.Append(Study, 0, AuditRecord.GenesisHash, at, entry);

        Assert.Equal(expected, record.Hash);
    }

    [Fact]
    public void Append_NonAsciiText_LengthInCharactersHashInUtf8()
    {
        var entry = new AuditEntry("u1", "r", Channel.Timer, "a", "t", [], "Ärztin bestätigt");
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        const string text = "64:" + AuditRecord.GenesisHash + "7:LJ-MCRC" + "1:1" + "28:2025-01-02T03:04:05.0000000Z"
            + "2:u1" + "1:r" + "5:timer" + "1:a" + "1:t" + "1:0"
            + "16:Ärztin bestätigt";
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

        Assert.Equal(expected, AuditRecord.Append(Study, 0, AuditRecord.GenesisHash, at, entry).Hash);
    }

    public static TheoryData<string> Variations =>
    [
        "userId", "role", "channel", "action", "target", "change.field", "change.before", "change.before-null-to-empty",
        "change.after", "change.unblinded", "change.added", "change.removed", "change.order", "reason", "reason-null",
        "at", "at-one-tick", "studyId", "previousHash", "previousSequence",
    ];

    [Theory]
    [MemberData(nameof(Variations))]
    public void Append_OneFieldChanged_DifferentHash(string variation)
    {
        var entry = Entry();
        var studyId = Study;
        var previousSequence = 0L;
        var previousHash = AuditRecord.GenesisHash;
        var at = At;
        var changes = entry.Changes.ToList();
        switch (variation)
        {
            case "userId": entry = entry with { UserId = "user-2" }; break;
            case "role": entry = entry with { Role = "pharmacist" }; break;
            case "channel": entry = entry with { Channel = Channel.Sms }; break;
            case "action": entry = entry with { Action = "subject.enrol" }; break;
            case "target": entry = entry with { Target = "subject/S-2" }; break;
            case "change.field": changes[0] = changes[0] with { Field = "state" }; break;
            case "change.before": changes[0] = changes[0] with { Before = "screened" }; break;
            case "change.before-null-to-empty": changes[1] = changes[1] with { Before = "" }; break;
            case "change.after": changes[1] = changes[1] with { After = "PBO" }; break;
            case "change.unblinded": changes[0] = changes[0] with { Unblinded = true }; break;
            case "change.added": changes.Add(new AuditChange("site", null, "CN01")); break;
            case "change.removed": changes.RemoveAt(1); break;
            case "change.order": changes.Reverse(); break;
            case "reason": entry = entry with { Reason = "Eligible!" }; break;
            case "reason-null": entry = entry with { Reason = null }; break;
            case "at": at = At.AddSeconds(1); break;
            case "at-one-tick": at = At.AddTicks(1); break;
            case "studyId": studyId = "AKK-MCRC"; break;
            case "previousHash": previousHash = new string('0', 63) + "1"; break;
            case "previousSequence": previousSequence = 1; break;
            default: throw new ArgumentOutOfRangeException(nameof(variation), variation, null);
        }

        if (variation.StartsWith("change.", StringComparison.Ordinal))
        {
            entry = entry with { Changes = changes };
        }

        var changed = AuditRecord.Append(studyId, previousSequence, previousHash, at, entry);

        Assert.NotEqual(First(Entry()).Hash, changed.Hash);
        Assert.Equal(changed.Hash, changed.ExpectedHash());
    }

    [Fact]
    public void Append_ReasonNullVersusEmpty_DifferentHash()
    {
        Assert.NotEqual(First(Entry() with { Reason = null }).Hash, First(Entry() with { Reason = "" }).Hash);
    }

    [Fact]
    public void Append_TextMovedBetweenAdjacentFields_DifferentHash()
    {
        var a = First(Entry() with { UserId = "ab", Role = "c" });
        var b = First(Entry() with { UserId = "a", Role = "bc" });
        var c = First(Entry() with { Action = "x:1", Target = "y" });
        var d = First(Entry() with { Action = "x", Target = "1:y" });

        Assert.NotEqual(a.Hash, b.Hash);
        Assert.NotEqual(c.Hash, d.Hash);
    }

    [Fact]
    public void Append_EveryChannel_DistinctHashes()
    {
        var hashes = Enum.GetValues<Channel>().Select(ch => First(Entry() with { Channel = ch }).Hash).ToList();

        Assert.Equal(hashes.Count, hashes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void ExpectedHash_RecordEdited_NoLongerMatchesHash()
    {
        var record = First(Entry());

        Assert.NotEqual(record.Hash, (record with { Reason = "Changed." }).ExpectedHash());
        Assert.NotEqual(record.Hash, (record with { At = record.At.AddTicks(1) }).ExpectedHash());
        Assert.NotEqual(record.Hash, (record with { Sequence = 2 }).ExpectedHash());
    }

    [Fact]
    public void Blinded_UnblindedChanges_ValuesWithheldNullsKept()
    {
        var entry = Entry() with
        {
            Changes =
            [
                new AuditChange("status", "registered", "randomized"),
                new AuditChange("arm", null, "LJ", Unblinded: true),
                new AuditChange("kitType", "LJ-CAPS", "PBO-CAPS", Unblinded: true),
                new AuditChange("stock", "3", null, Unblinded: true),
                new AuditChange("note", null, null),
            ],
        };
        var record = First(entry);

        var blinded = record.Blinded();

        Assert.Equal(
            [
                new AuditChange("status", "registered", "randomized"),
                new AuditChange("arm", null, AuditRecord.Withheld, Unblinded: true),
                new AuditChange("kitType", AuditRecord.Withheld, AuditRecord.Withheld, Unblinded: true),
                new AuditChange("stock", AuditRecord.Withheld, null, Unblinded: true),
                new AuditChange("note", null, null),
            ],
            blinded.Changes);
        Assert.DoesNotContain(blinded.Changes, c => c.Before is "LJ-CAPS" or "PBO-CAPS" or "LJ" or "3" || c.After is "LJ-CAPS" or "PBO-CAPS" or "LJ");
    }

    [Fact]
    public void Blinded_AnyRecord_KeepsEverythingButUnblindedValues()
    {
        var record = First(Entry());

        var blinded = record.Blinded();

        Assert.Equal(record with { Changes = blinded.Changes }, blinded);
        Assert.Equal(record.Hash, blinded.Hash);
        Assert.Equal(record.PreviousHash, blinded.PreviousHash);
        Assert.Equal(record.Changes.Select(c => (c.Field, c.Unblinded)), blinded.Changes.Select(c => (c.Field, c.Unblinded)));
        Assert.Equal("LJ", record.Changes[1].After);
    }

    [Fact]
    public void Blinded_NoUnblindedChanges_ChangesUnchanged()
    {
        var record = First(Entry() with { Changes = [new AuditChange("status", "a", "b"), new AuditChange("visit", null, "C2")] });

        Assert.Equal(record.Changes, record.Blinded().Changes);
    }
}
