namespace Iwrs.Simulate;

/// <summary>
/// Enrolment as both runs (<see cref="SupplyRun"/>, <see cref="PackRun"/>) simulate it, day by day: the people waiting
/// are tried again (and lost once their wait is over), then the day's arrivals are tried, each waiting
/// <see cref="Scenario.RandomizationWaitDays"/> if refused. Competitive: nobody more is screened once the target is
/// randomized or waiting. Enrolment closes at the target, or when nobody is left to arrive or wait.
/// </summary>
internal sealed class Enrolment(Trial trial, Scenario scenario, RunOutcome outcome)
{
    private readonly List<(Candidate Candidate, int Deadline)> _waiting = [];
    private int _next;

    public bool Open { get; private set; } = true;

    /// <summary>One day's enrolment; <paramref name="tryRandomize"/> randomizes a person if their site can. True on the day it closes.</summary>
    public bool Step(int day, Func<Candidate, bool> tryRandomize)
    {
        ArgumentNullException.ThrowIfNull(tryRandomize);
        if (!Open)
        {
            return false;
        }

        for (var i = 0; i < _waiting.Count; i++)
        {
            if (day > _waiting[i].Deadline)
            {
                outcome.LostRandomizations++;
                _waiting.RemoveAt(i--);
            }
            else if (tryRandomize(_waiting[i].Candidate))
            {
                _waiting.RemoveAt(i--);
            }
        }

        var candidates = trial.Candidates;
        for (; _next < candidates.Count && candidates[_next].Day <= day; _next++)
        {
            if (outcome.Randomized + _waiting.Count >= scenario.Subjects)
            {
                continue;
            }

            if (!tryRandomize(candidates[_next]))
            {
                _waiting.Add((candidates[_next], day + scenario.RandomizationWaitDays));
            }
        }

        if (outcome.Randomized >= scenario.Subjects || (_next >= candidates.Count && _waiting.Count == 0))
        {
            Open = false;
            return true;
        }

        return false;
    }
}

/// <summary>Who is due on which day (subjects' visits), kept as a list per day and handed out once.</summary>
internal sealed class VisitCalendar<T>
{
    private readonly List<List<T>?> _days = [];

    /// <summary>The list of those due on <paramref name="day"/>, to add to.</summary>
    public List<T> On(int day)
    {
        while (_days.Count <= day)
        {
            _days.Add(null);
        }

        return _days[day] ??= [];
    }

    /// <summary>Those due on <paramref name="day"/>, taken off the calendar (empty when none).</summary>
    public IReadOnlyList<T> Take(int day)
    {
        if (day >= _days.Count || _days[day] is not { } due)
        {
            return [];
        }

        _days[day] = null;
        return due;
    }
}
