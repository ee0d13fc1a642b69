using Iwrs.Domain.Audit;
using static Iwrs.Domain.Tests.Audit.AuditChain;

namespace Iwrs.Domain.Tests.Audit;

public sealed class AuditVerificationTests
{
    private static void AssertBroken(AuditVerification v, long firstBad, string problemNames)
    {
        Assert.False(v.Intact);
        Assert.Equal(firstBad, v.FirstBadSequence);
        Assert.NotNull(v.Problem);
        Assert.Contains(problemNames, v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_IntactChainOfTen_IntactWithTenChecked()
    {
        var chain = Build(10);

        var v = Verify(chain, chain);

        Assert.Equal(new AuditVerification(true, 10, null, null), v);
    }

    [Fact]
    public void Verify_EmptyChainAtGenesis_Intact()
    {
        Assert.Equal(new AuditVerification(true, 0, null, null), AuditVerification.Verify([], 0, AuditRecord.GenesisHash));
    }

    [Fact]
    public void Verify_EmptyTrailButHeadClaimsRecords_BrokenAtFirst()
    {
        var chain = Build(3);

        AssertBroken(Verify([], chain), 1, "3");
    }

    [Fact]
    public void Verify_FirstRecordNotLinkedToGenesis_Broken()
    {
        var record = AuditRecord.Append(Study, 0, new string('f', 64), Start, Entry());

        AssertBroken(AuditVerification.Verify([record], 1, record.Hash), 1, "record 1");
    }

    public static TheoryData<string> ContentEdits => ["userId", "role", "channel", "action", "target", "before", "after", "unblinded", "reason", "at", "studyId"];

    public static TheoryData<string> Edits => [.. ContentEdits, "previousHash"];

    private static AuditRecord Edit(AuditRecord r, string field) => field switch
    {
        "userId" => r with { UserId = "intruder" },
        "role" => r with { Role = "administrator" },
        "channel" => r with { Channel = Channel.Timer },
        "action" => r with { Action = "subject.discontinue" },
        "target" => r with { Target = "subject/S-99" },
        "before" => r with { Changes = [r.Changes[0] with { Before = "screened" }, r.Changes[1]] },
        "after" => r with { Changes = [r.Changes[0], r.Changes[1] with { After = "PBO" }] },
        "unblinded" => r with { Changes = [r.Changes[0], r.Changes[1] with { Unblinded = false }] },
        "reason" => r with { Reason = null },
        "at" => r with { At = r.At.AddMilliseconds(1) },
        "studyId" => r with { StudyId = "AKK-MCRC" },
        "previousHash" => r with { PreviousHash = AuditRecord.GenesisHash },
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    [Theory]
    [MemberData(nameof(Edits))]
    public void Verify_RecordEditedHashKept_BrokenAtThatRecord(string field)
    {
        var chain = Build(10);
        var tampered = chain.ToList();
        tampered[4] = Edit(chain[4], field);

        var v = Verify(tampered, chain);

        AssertBroken(v, 5, "record 5");
        Assert.Equal(4, v.RecordsChecked);
    }

    [Theory]
    [MemberData(nameof(ContentEdits))]
    public void Verify_RecordEditedAndRehashed_BrokenAtNextRecord(string field)
    {
        var chain = Build(10);
        var tampered = chain.ToList();
        var edited = Edit(chain[4], field);
        tampered[4] = edited with { Hash = edited.ExpectedHash() };

        var v = Verify(tampered, chain);

        AssertBroken(v, 6, "record 6");
        Assert.Equal(5, v.RecordsChecked);
    }

    [Fact]
    public void Verify_MiddleRecordRemoved_BrokenAtMissingRecord()
    {
        var chain = Build(10);

        var v = Verify(chain.Where(r => r.Sequence != 5), chain);

        AssertBroken(v, 5, "record 5");
        Assert.Contains("missing", v.Problem!, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_MiddleRecordRemovedAndLaterOnesRenumbered_Broken()
    {
        var chain = Build(10);
        var tampered = chain.Where(r => r.Sequence != 5).Select(r => r.Sequence > 5 ? r with { Sequence = r.Sequence - 1 } : r).ToList();

        AssertBroken(AuditVerification.Verify(tampered, 9, tampered[^1].Hash), 5, "record 5");
    }

    [Fact]
    public void Verify_LastRecordRemoved_CaughtByHead()
    {
        var chain = Build(10);

        var v = Verify(chain.Take(9), chain);

        AssertBroken(v, 10, "10");
        Assert.Equal(9, v.RecordsChecked);
    }

    [Fact]
    public void Verify_LastThreeRecordsRemoved_CaughtByHead()
    {
        var chain = Build(10);

        AssertBroken(Verify(chain.Take(7), chain), 8, "10");
    }

    [Fact]
    public void Verify_RecordInsertedWithValidLink_Broken()
    {
        var chain = Build(10);
        var forged = AuditRecord.Append(Study, 5, chain[4].Hash, chain[4].At.AddSeconds(1), Entry(99));
        var tampered = chain.ToList();
        tampered.Insert(5, forged);

        var v = Verify(tampered, chain);

        Assert.False(v.Intact);
        Assert.Equal(7, v.FirstBadSequence);
        Assert.Contains("record 6", v.Problem!, StringComparison.Ordinal);
        Assert.Contains("inserted", v.Problem!, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_RecordInsertedAndLaterOnesRenumbered_BrokenAtFirstDisplacedRecord()
    {
        var chain = Build(10);
        var forged = AuditRecord.Append(Study, 5, chain[4].Hash, chain[4].At.AddSeconds(1), Entry(99));
        var tampered = chain.Take(5).Append(forged).Concat(chain.Skip(5).Select(r => r with { Sequence = r.Sequence + 1 })).ToList();

        AssertBroken(AuditVerification.Verify(tampered, 11, tampered[^1].Hash), 7, "record 7");
    }

    [Fact]
    public void Verify_RecordDuplicated_BrokenAfterOriginal()
    {
        var chain = Build(10);
        var tampered = chain.ToList();
        tampered.Insert(5, chain[4]);

        var v = Verify(tampered, chain);

        AssertBroken(v, 6, "record 5");
        Assert.Contains("duplicated", v.Problem!, StringComparison.Ordinal);
        Assert.Equal(5, v.RecordsChecked);
    }

    [Fact]
    public void Verify_TwoRecordsSwapped_Broken()
    {
        var chain = Build(10);
        var tampered = chain.ToList();
        (tampered[3], tampered[4]) = (tampered[4], tampered[3]);

        AssertBroken(Verify(tampered, chain), 4, "record 4");
    }

    [Fact]
    public void Verify_RecordFromAnotherChainSpliced_Broken()
    {
        var chain = Build(10);
        var other = AuditRecord.Append("AKK-MCRC", 4, AuditRecord.GenesisHash, Start, Entry());
        var tampered = chain.ToList();
        tampered[4] = other;

        AssertBroken(Verify(tampered, chain), 5, "record 5");
    }

    [Fact]
    public void Verify_HeadHashWrong_Broken()
    {
        var chain = Build(10);

        var v = AuditVerification.Verify(chain, 10, chain[8].Hash);

        Assert.False(v.Intact);
        Assert.NotNull(v.Problem);
    }

    // The two tests below expect FirstBadSequence to name a record of the trail (the first one that does
    // not fit), as it does for every other kind of tampering.

    [Fact]
    public void Verify_LastRecordEditedAndRehashed_BrokenAtLastRecord()
    {
        var chain = Build(10);
        var tampered = chain.ToList();
        var edited = chain[9] with { Target = "subject/S-99" };
        tampered[9] = edited with { Hash = edited.ExpectedHash() };

        var v = Verify(tampered, chain);

        AssertBroken(v, 10, "record 10");
    }

    [Fact]
    public void Verify_RecordAppendedBeyondHead_BrokenAtAppendedRecord()
    {
        var chain = Build(10);
        var extra = AuditRecord.Append(Study, 10, chain[9].Hash, chain[9].At.AddMinutes(1), Entry(11));

        var v = Verify([.. chain, extra], chain);

        AssertBroken(v, 11, "11");
    }
}
