using System.Collections.Concurrent;
using Iwrs.Domain;
using Iwrs.Domain.Subjects;

namespace Iwrs.Functions.Features;

/// <summary>
/// One app instance's randomizations of a study waiting for the study's turn (<see cref="Iwrs.Storage.Stores.StudyWrites"/>).
/// Whoever gets the turn commits every randomization waiting by then, in arrival order, in one transaction with a
/// record each (group commit): every change to a study moves its audit head, so one at a time is all a study can take,
/// and one transaction for many is how a busy instance keeps up. One per app instance (a singleton), never static.
/// </summary>
public sealed class RandomizationQueue
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Job>> _waiting = new(StringComparer.Ordinal);

    internal void Add(Job job) => _waiting.GetOrAdd(job.Context.StudyId, _ => new ConcurrentQueue<Job>()).Enqueue(job);

    /// <summary>How many randomizations of the study wait in this instance now (taken or abandoned ones excluded).</summary>
    internal int Waiting(string studyId) => _waiting.TryGetValue(studyId, out var queue) ? queue.Count(j => !j.IsTaken) : 0;

    /// <summary>Takes up to <paramref name="max"/> waiting randomizations of the study, oldest first, for the caller to commit.</summary>
    internal List<Job> Claim(string studyId, int max)
    {
        var claimed = new List<Job>();
        if (_waiting.TryGetValue(studyId, out var queue))
        {
            while (claimed.Count < max && queue.TryDequeue(out var job))
            {
                if (job.TryClaim())
                {
                    claimed.Add(job);
                }
            }
        }

        return claimed;
    }

    /// <summary>
    /// One request's randomization: claimed by whoever commits it (its own request or another in the same turn), or
    /// abandoned by its request when the turn never came; never both.
    /// </summary>
    internal sealed class Job(StudyContext context, string subjectId, RandomizationRequest request, Task<RandomizationFunctions.Basis>? prefetch, long version)
    {
        private int _state; // 0 waiting, 1 claimed, 2 abandoned

        public StudyContext Context { get; } = context;

        public string SubjectId { get; } = subjectId;

        public RandomizationRequest Request { get; } = request;

        /// <summary>The rows read beside the request's authorization, current while the study's write count is <see cref="Version"/>.</summary>
        public Task<RandomizationFunctions.Basis>? Prefetch { get; set; } = prefetch;

        public long Version { get; } = version;

        public TaskCompletionSource<Outcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsTaken => Volatile.Read(ref _state) != 0;

        public bool TryClaim() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;
    }

    /// <summary>What became of a randomization, and the study as its decision saw it (for what is said about it afterwards).</summary>
    internal sealed record Outcome(Result<Subject> Result, bool Created, StudyContext Decided);
}
