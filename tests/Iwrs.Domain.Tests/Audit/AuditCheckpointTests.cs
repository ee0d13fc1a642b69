using System.Security.Cryptography;
using Iwrs.Domain.Audit;
using static Iwrs.Domain.Tests.Audit.AuditChain;

namespace Iwrs.Domain.Tests.Audit;

public sealed class AuditCheckpointTests : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
    }

    private SigningKeys Keys(params ECDsa[] keys) => SigningKeys.From(keys.Select(k => k.ExportSubjectPublicKeyInfo())).Value;

    private StoredCheckpoint Stored(AuditRecord record, ECDsa? key = null)
    {
        var signed = SignedCheckpoint.Sign(new AuditCheckpoint(Study, record.Sequence, record.Hash, record.At.AddMinutes(5)), key ?? _key);
        return new StoredCheckpoint(signed.Checkpoint.Name, signed);
    }

    private AuditVerification Verify(IReadOnlyList<AuditRecord> records, long headSequence, string headHash, params StoredCheckpoint[] checkpoints) =>
        AuditVerification.Verify(Study, records, headSequence, headHash, null, new AuditEvidence(checkpoints, Keys(_key), StudyHasData: true));

    private static void AssertBroken(AuditVerification v, long firstBad, string named)
    {
        Assert.False(v.Intact);
        Assert.Equal(firstBad, v.FirstBadSequence);
        Assert.Contains(named, v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_ThenVerify_ValidWithItsKeyOnly()
    {
        var signed = SignedCheckpoint.Sign(new AuditCheckpoint(Study, 7, new string('a', 64), Start), _key);

        Assert.True(Keys(_key).Verifies(signed));
        Assert.False(Keys(_otherKey).Verifies(signed));
        Assert.Equal(SigningKeys.KeyIdOf(_key.ExportSubjectPublicKeyInfo()), signed.KeyId);
        Assert.Equal(16, signed.KeyId.Length);
    }

    public static TheoryData<string> SignedFields => ["studyId", "sequence", "hash", "at"];

    [Theory]
    [MemberData(nameof(SignedFields))]
    public void Verifies_AnySignedFieldChanged_False(string field)
    {
        var signed = SignedCheckpoint.Sign(new AuditCheckpoint(Study, 7, new string('a', 64), Start), _key);
        var c = signed.Checkpoint;
        var changed = field switch
        {
            "studyId" => c with { StudyId = "AKK-MCRC" },
            "sequence" => c with { Sequence = 8 },
            "hash" => c with { Hash = new string('b', 64) },
            _ => c with { At = c.At.AddTicks(1) },
        };

        Assert.False(Keys(_key).Verifies(signed with { Checkpoint = changed }));
    }

    [Fact]
    public void Verifies_SignatureNotBase64_False()
    {
        var signed = SignedCheckpoint.Sign(new AuditCheckpoint(Study, 7, new string('a', 64), Start), _key);

        Assert.False(Keys(_key).Verifies(signed with { Signature = "not base64!" }));
    }

    [Fact]
    public void From_NotAP256Key_Refused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.False(SigningKeys.From([p384.ExportSubjectPublicKeyInfo()]).IsSuccess);
        Assert.False(SigningKeys.From([[1, 2, 3]]).IsSuccess);
    }

    [Fact]
    public void Verify_ChainMatchesEveryCheckpoint_IntactWithTheNewest()
    {
        var chain = Build(10);

        var v = Verify(chain, 10, chain[^1].Hash, Stored(chain[3]), Stored(chain[9]));

        Assert.True(v.Intact);
        Assert.Equal(2, v.CheckpointsChecked);
        Assert.Equal(10, v.NewestCheckpoint!.Sequence);
    }

    [Fact]
    public void Verify_CheckpointByAPreviousKey_Intact()
    {
        var chain = Build(4);
        var evidence = new AuditEvidence([Stored(chain[1], _otherKey), Stored(chain[3])], Keys(_key, _otherKey), true);

        Assert.True(AuditVerification.Verify(Study, chain, 4, chain[^1].Hash, null, evidence).Intact);
    }

    [Fact]
    public void Verify_TruncatedWithHeadRewritten_ShorterThanCheckpoint()
    {
        var chain = Build(8);

        // Without the checkpoint the shorter chain is consistent; with it, records 6 to 8 are named as removed.
        Assert.True(AuditVerification.Verify(chain.Take(5), 5, chain[4].Hash).Intact);
        AssertBroken(Verify([.. chain.Take(5)], 5, chain[4].Hash, Stored(chain[7])), 6, "shorter than a signed checkpoint");
    }

    [Fact]
    public void Verify_EmptyTrailOfAStudyWithData_Broken_EvenWithoutCheckpoints()
    {
        AssertBroken(Verify([], 0, AuditRecord.GenesisHash), 1, "no audit record");
        Assert.True(AuditVerification.Verify(Study, [], 0, AuditRecord.GenesisHash, null, new AuditEvidence([], Keys(_key), StudyHasData: false)).Intact);
    }

    [Fact]
    public void Verify_ChainReHashedAfterACheckpoint_NamesTheFirstRecordNoCheckpointCovers()
    {
        var chain = Build(9);
        var rewritten = chain.Take(4).ToList();
        for (var i = 4; i < 9; i++)
        {
            rewritten.Add(AuditRecord.Append(Study, i, rewritten[^1].Hash, Start.AddMinutes(i), Entry(i == 5 ? 99 : i + 1)));
        }

        AssertBroken(Verify(rewritten, 9, rewritten[^1].Hash, Stored(chain[3]), Stored(chain[8])), 5, "hash is not in the chain");
    }

    [Fact]
    public void Verify_ForgedSignature_BadSignatureAtItsSequence()
    {
        var chain = Build(5);

        AssertBroken(Verify(chain, 5, chain[^1].Hash, Stored(chain[4], _otherKey)), 5, "bad signature");
    }

    [Fact]
    public void Verify_CheckpointUnderAnotherName_Broken()
    {
        var chain = Build(5);
        var genuine = Stored(chain[2]);

        AssertBroken(Verify(chain, 5, chain[^1].Hash, genuine with { Name = AuditCheckpoint.NameOf(Study, 5) }), 1, "belongs under");
        AssertBroken(Verify(chain, 5, chain[^1].Hash, new StoredCheckpoint(AuditCheckpoint.NameOf(Study, 5), null)), 1, "no readable checkpoint");
    }

    [Fact]
    public void Verify_ChainBrokenItself_ReportsTheChainFirst()
    {
        var chain = Build(5);
        chain[2] = chain[2] with { Target = "subject/S-99" };

        AssertBroken(Verify(chain, 5, chain[^1].Hash, Stored(chain[4])), 3, "changed");
    }

    [Fact]
    public void NameOf_SortsBySequence()
    {
        Assert.Equal("LJ-MCRC/000000000042.json", AuditCheckpoint.NameOf(Study, 42));
        Assert.True(string.CompareOrdinal(AuditCheckpoint.NameOf(Study, 9), AuditCheckpoint.NameOf(Study, 10)) < 0);
    }
}
