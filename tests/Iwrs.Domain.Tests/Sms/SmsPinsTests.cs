using Iwrs.Domain.Sms;

namespace Iwrs.Domain.Tests.Sms;

public sealed class SmsPinsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);

    private static byte[] Salt(byte b) => [.. Enumerable.Repeat(b, SmsPins.SaltBytes)];

    [Theory]
    [InlineData("2468")]
    [InlineData("90210")]
    [InlineData("13572468")]
    public void CheckPolicy_GoodPin_Accepted(string pin) => Assert.Null(SmsPins.CheckPolicy(pin));

    [Theory]
    [InlineData(null)]
    [InlineData("123")]
    [InlineData("123456789")]
    [InlineData("12a4")]
    [InlineData("1111")]
    [InlineData("1234")]
    [InlineData("98765")]
    [InlineData("٢٤٦٨")]
    public void CheckPolicy_BadPin_Refused(string? pin)
    {
        var error = SmsPins.CheckPolicy(pin);

        Assert.Equal("validation-failed", error?.Code);
        Assert.Equal("pin", Assert.Single(error!.Errors!).Field);
    }

    [Fact]
    public void Hash_Pbkdf2Sha256_ReproducesTheRfcFunctionAndNeverHoldsThePin()
    {
        var hash = SmsPins.Hash("2468", Salt(7));

        Assert.Equal(100_000, hash.Iterations);
        Assert.Equal(32, hash.Hash.Length);
        var expected = System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2("2468"u8.ToArray(), Salt(7), 100_000, System.Security.Cryptography.HashAlgorithmName.SHA256, 32);
        Assert.Equal(expected, hash.Hash);
        Assert.DoesNotContain("2468", Convert.ToBase64String(hash.Hash) + Convert.ToHexString(hash.Hash), StringComparison.Ordinal);
    }

    [Fact]
    public void Hash_DifferentSalts_DifferentHashes()
    {
        Assert.NotEqual(SmsPins.Hash("2468", Salt(1)).Hash, SmsPins.Hash("2468", Salt(2)).Hash);
    }

    [Fact]
    public void Hash_FewerIterationsOrShortSalt_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SmsPins.Hash("2468", Salt(1), 99_999));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmsPins.Hash("2468", [1, 2, 3]));
    }

    [Fact]
    public void Matches_RightAndWrongPin()
    {
        var hash = SmsPins.Hash("2468", Salt(3));

        Assert.True(SmsPins.Matches(hash, "2468"));
        Assert.False(SmsPins.Matches(hash, "2469"));
    }

    [Fact]
    public void Attempt_FiveWrongInARow_LocksAndThenNothingIsChecked()
    {
        var state = SmsPins.Set(PinState.None, SmsPins.Hash("2468", Salt(4)));
        for (var i = 1; i < SmsPins.MaxFailures; i++)
        {
            (var outcome, state) = SmsPins.Attempt(state, "0000", Now);
            Assert.Equal((PinOutcome.Wrong, i), (outcome, state.Failures));
        }

        (var last, state) = SmsPins.Attempt(state, "0000", Now);
        Assert.Equal(PinOutcome.LockedNow, last);
        Assert.Equal(Now, state.LockedAt);

        // Even the right PIN does nothing now.
        var (locked, after) = SmsPins.Attempt(state, "2468", Now.AddHours(1));
        Assert.Equal(PinOutcome.Locked, locked);
        Assert.Same(state, after);

        var unlocked = SmsPins.Unlock(state);
        Assert.Equal((PinOutcome.Accepted, 0), (SmsPins.Attempt(unlocked, "2468", Now).Outcome, unlocked.Failures));
    }

    [Fact]
    public void Attempt_RightPinAfterWrongOnes_CountStartsAgain()
    {
        var state = SmsPins.Set(PinState.None, SmsPins.Hash("2468", Salt(5)));
        for (var i = 0; i < SmsPins.MaxFailures - 1; i++)
        {
            state = SmsPins.Attempt(state, "0000", Now).State;
        }

        var (outcome, cleared) = SmsPins.Attempt(state, "2468", Now);

        Assert.Equal((PinOutcome.Accepted, 0), (outcome, cleared.Failures));
        Assert.Equal(PinOutcome.Wrong, SmsPins.Attempt(cleared, "0000", Now).Outcome);
    }

    [Fact]
    public void Attempt_NoPinSet_NotSetAndNothingChanges()
    {
        var (outcome, state) = SmsPins.Attempt(PinState.None, "2468", Now);

        Assert.Equal(PinOutcome.NotSet, outcome);
        Assert.Same(PinState.None, state);
    }

    [Fact]
    public void Set_WhileLocked_KeepsTheLock()
    {
        var locked = new PinState(SmsPins.Hash("2468", Salt(6)), SmsPins.MaxFailures, Now);

        var reset = SmsPins.Set(locked, SmsPins.Hash("1357", Salt(6)));

        Assert.True(reset.IsLocked);
        Assert.Equal(0, reset.Failures);
    }
}
