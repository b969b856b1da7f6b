// chainrule play: one training step computed here, in the order and under the names of
// chainrule's Python engine (chainrule.train_step), so that every number can be checked
// against it. Matrices are arrays of rows: x is (n, n_features), Wk is (n_in, n_out).
(function () {
  "use strict";

  // NumPy's float64 constants, as chainrule's probability clipping uses them.
  var SMALLEST_NORMAL = 2.2250738585072014e-308;
  var EPS = 2.220446049250313e-16;

  // -- arithmetic ------------------------------------------------------------------------
  function map(M, f) {
    return M.map(function (row) { return row.map(f); });
  }
  function map2(A, B, f) {
    return A.map(function (row, s) {
      return row.map(function (a, j) { return f(a, B[s][j]); });
    });
  }
  function transpose(M) {
    return M[0].map(function (_, j) { return M.map(function (row) { return row[j]; }); });
  }
  function matmul(A, B) {
    var p = B[0].length;
    return A.map(function (row) {
      var out = [];
      for (var j = 0; j < p; j++) {
        var acc = 0;
        for (var i = 0; i < row.length; i++) acc += row[i] * B[i][j];
        out.push(acc);
      }
      return out;
    });
  }
  function rowSums(M) {
    return M.map(function (row) {
      var acc = 0;
      for (var j = 0; j < row.length; j++) acc += row[j];
      return acc;
    });
  }
  function rowMax(row) {
    return row.reduce(function (a, b) { return b > a ? b : a; });
  }
  function sumOverInstances(M) {
    var out = M[0].slice();
    for (var s = 1; s < M.length; s++) {
      for (var j = 0; j < out.length; j++) out[j] += M[s][j];
    }
    return out;
  }
  function total(v) {
    var acc = 0;
    for (var i = 0; i < v.length; i++) acc += v[i];
    return acc;
  }
  function sigmoid(z) {
    var e = Math.exp(-Math.abs(z)); // never overflows
    return z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  function softmaxRows(Z) {
    return Z.map(function (row) {
      var top = rowMax(row);
      var e = row.map(function (z) { return Math.exp(z - top); });
      var sum = total(e);
      return e.map(function (v) { return v / sum; });
    });
  }
  function clipP(p) {
    return Math.min(Math.max(p, SMALLEST_NORMAL), 1 - EPS / 2);
  }

  // -- activations: value(Z) and backprop(dA, Z, A) = dE/dZ ------------------------------
  function elementwise(f, fprime, formula, dformula) {
    return {
      value: function (Z) { return map(Z, f); },
      backprop: function (dA, Z, A) {
        return map2(dA, map2(Z, A, fprime), function (d, g) { return d * g; });
      },
      formula: formula,
      dformula: dformula
    };
  }
  function activation(layer) {
    var name = layer.activation;
    if (name === "sigmoid") {
      return elementwise(sigmoid, function (z, a) { return a * (1 - a); },
        "f(z) = 1 / (1 + e^(−z))", "f′(z) = f(z) · (1 − f(z))");
    }
    if (name === "tanh") {
      return elementwise(Math.tanh, function (z, a) { return 1 - a * a; },
        "f(z) = tanh(z)", "f′(z) = 1 − f(z)²");
    }
    if (name === "relu") {
      return elementwise(function (z) { return z > 0 ? z : 0; },
        function (z) { return z > 0 ? 1 : 0; }, "f(z) = max(z, 0)", "f′(z) = 1 if z > 0 else 0");
    }
    if (name === "leaky_relu") {
      var alpha = layer.alpha;
      return elementwise(function (z) { return z > 0 ? z : alpha * z; },
        function (z) { return (z > 0 ? 1 : 0) * (1 - alpha) + alpha; },
        "f(z) = z if z > 0 else α·z (α = " + alpha + ")", "f′(z) = 1 if z > 0 else α");
    }
    if (name === "softplus") {
      return elementwise(function (z) { return (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z))); },
        function (z) { return sigmoid(z); }, "f(z) = log(1 + e^z)", "f′(z) = 1 / (1 + e^(−z))");
    }
    if (name === "identity") {
      return {
        value: function (Z) { return Z; },
        backprop: function (dA) { return dA; },
        formula: "f(z) = z", dformula: "f′(z) = 1"
      };
    }
    if (name === "softmax") {
      return {
        value: softmaxRows,
        backprop: function (dA, Z, A) {
          var dot = rowSums(map2(dA, A, function (d, a) { return d * a; }));
          return A.map(function (row, s) {
            return row.map(function (a, j) { return a * (dA[s][j] - dot[s]); });
          });
        },
        formula: "f(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ)",
        dformula: "∂fᵢ/∂zⱼ = fᵢ (δᵢⱼ − fⱼ)"
      };
    }
    throw new Error("unknown activation " + name);
  }

  // -- losses: the error e of each instance and dE_i/dyhat_i, before the reduction --------
  function bceLogits(y, Z) {
    return Z.map(function (row, s) {
      var acc = 0;
      for (var j = 0; j < row.length; j++) {
        var z = row[j];
        acc += (z > 0 ? z : 0) - y[s][j] * z + Math.log1p(Math.exp(-Math.abs(z)));
      }
      return acc;
    });
  }
  function ceLogits(y, Z) {
    return Z.map(function (row, s) {
      var top = rowMax(row);
      var lse = top + Math.log(total(row.map(function (z) { return Math.exp(z - top); })));
      var ysum = total(y[s]);
      var yz = total(row.map(function (z, j) { return y[s][j] * z; }));
      return ysum * lse - yz;
    });
  }
  function bceLogitsGradient(y, Z, A) {
    return map2(A, y, function (a, t) { return a - t; });
  }
  function ceLogitsGradient(y, Z, A) {
    var ysum = rowSums(y);
    return A.map(function (row, s) {
      return row.map(function (a, j) { return a * ysum[s] - y[s][j]; });
    });
  }
  function lossOf(state) {
    var name = state.loss, logits = state.from_logits;
    if (name === "half_squared_error") {
      return {
        perInstance: function (y, yhat) {
          return rowSums(map2(y, yhat, function (t, p) { var d = t - p; return d * d; }))
            .map(function (v) { return 0.5 * v; });
        },
        gradient: function (y, yhat) { return map2(yhat, y, function (p, t) { return p - t; }); },
        formula: "e = ½ Σⱼ (yⱼ − ŷⱼ)²", dformula: "(ŷ − y)"
      };
    }
    if (name === "mean_squared_error") {
      return {
        perInstance: function (y, yhat) {
          var n = yhat[0].length;
          return rowSums(map2(y, yhat, function (t, p) { var d = t - p; return d * d; }))
            .map(function (v) { return v / n; });
        },
        gradient: function (y, yhat) {
          var c = 2.0 / yhat[0].length;
          return map2(yhat, y, function (p, t) { return (p - t) * c; });
        },
        formula: "e = (1/n_out) Σⱼ (yⱼ − ŷⱼ)²", dformula: "2 (ŷ − y) / n_out"
      };
    }
    if (name === "binary_cross_entropy") {
      return {
        fusesWith: logits ? null : "sigmoid",
        perInstance: function (y, yhat) {
          if (logits) return bceLogits(y, yhat);
          var P = map(yhat, clipP);
          return rowSums(map2(y, P, function (t, p) {
            return t * Math.log(p) + (1 - t) * Math.log(1 - p);
          })).map(function (v) { return -v; });
        },
        gradient: function (y, yhat) {
          if (logits) return bceLogitsGradient(y, yhat, map(yhat, sigmoid));
          return map2(map(yhat, clipP), y, function (p, t) { return (p - t) / (p * (1 - p)); });
        },
        perInstanceFromLogits: bceLogits,
        gradientFromLogits: bceLogitsGradient,
        formula: logits ? "e = Σⱼ [max(zⱼ, 0) − yⱼ zⱼ + log(1 + e^(−|zⱼ|))], z = ŷ (logits)"
          : "e = −Σⱼ [yⱼ log ŷⱼ + (1 − yⱼ) log(1 − ŷⱼ)]",
        dformula: logits ? "(sigmoid(ŷ) − y)" : "(ŷ − y) / (ŷ (1 − ŷ))",
        fused: "(outL − y)"
      };
    }
    if (name === "cross_entropy") {
      return {
        fusesWith: logits ? null : "softmax",
        perInstance: function (y, yhat) {
          if (logits) return ceLogits(y, yhat);
          var P = map(yhat, clipP);
          return rowSums(map2(y, P, function (t, p) { return t * Math.log(p); }))
            .map(function (v) { return -v; });
        },
        gradient: function (y, yhat) {
          if (logits) return ceLogitsGradient(y, yhat, softmaxRows(yhat));
          return map2(y, map(yhat, clipP), function (t, p) { return -t / p; });
        },
        perInstanceFromLogits: ceLogits,
        gradientFromLogits: ceLogitsGradient,
        formula: logits ? "e = (Σⱼ yⱼ) log Σⱼ e^(zⱼ) − Σⱼ yⱼ zⱼ, z = ŷ (logits)"
          : "e = −Σⱼ yⱼ log ŷⱼ",
        dformula: logits ? "(softmax(ŷ) · Σⱼ yⱼ − y)" : "−y / ŷ",
        fused: "(outL · Σⱼ yⱼ − y)"
      };
    }
    throw new Error("unknown loss " + name);
  }

  // -- one training step, traced -------------------------------------------------------
  function forward(state, X) {
    var caches = [], A = X;
    state.layers.forEach(function (layer) {
      var b = layer.b;
      var Z = matmul(A, layer.W).map(function (row) {
        return row.map(function (z, j) { return z + b[j]; });
      });
      var out = activation(layer).value(Z);
      caches.push({ A_prev: A, Z: Z, A: out });
      A = out;
    });
    return caches;
  }
  function fusedFor(state, loss) {
    return loss.fusesWith != null &&
      state.layers[state.layers.length - 1].activation === loss.fusesWith;
  }
  function instanceErrors(state, loss, y, caches) {
    var top = caches[caches.length - 1];
    return fusedFor(state, loss) ? loss.perInstanceFromLogits(y, top.Z)
      : loss.perInstance(y, top.A);
  }
  function batchError(e, reduction) {
    return reduction === "mean" ? total(e) / e.length : total(e);
  }

  // The L2 penalty l2/2 * sum_k ||Wk||^2 (weights only).
  function penalty(layers, l2) {
    var sum = 0;
    layers.forEach(function (layer) {
      var acc = 0;
      layer.W.forEach(function (row) { row.forEach(function (w) { acc += w * w; }); });
      sum += acc;
    });
    return 0.5 * l2 * sum;
  }

  function trainStep(state) {
    var L = state.layers.length, X = state.x, y = state.y, n = X.length;
    var loss = lossOf(state), values = {}, order = [];
    // A second record of a name replaces its value in place, as in chainrule's Trace.
    function rec(name, v) {
      if (!Object.prototype.hasOwnProperty.call(values, name)) order.push(name);
      values[name] = v;
    }
    rec("x", X);
    rec("y", y);
    state.layers.forEach(function (layer, i) {
      rec("W" + (i + 1), layer.W);
      rec("b" + (i + 1), layer.b);
    });
    var caches = forward(state, X);
    caches.forEach(function (c, i) {
      rec("inL" + (i + 1), c.Z);
      rec("outL" + (i + 1), c.A);
    });
    var top = caches[L - 1];
    var e = instanceErrors(state, loss, y, caches);
    var E = batchError(e, state.reduction);
    var scale = state.reduction === "mean" ? 1.0 / n : 1.0;
    var times = function (v) { return v * scale; };
    var dA = map(loss.gradient(y, top.A), times), dZ = null;
    if (fusedFor(state, loss)) dZ = map(loss.gradientFromLogits(y, top.Z, top.A), times);
    rec("e", e);
    rec("E", E);
    var grads = {};
    for (var k = L; k >= 1; k--) {
      var layer = state.layers[k - 1], c = caches[k - 1];
      if (dZ === null) dZ = activation(layer).backprop(dA, c.Z, c.A);
      var dW = matmul(transpose(c.A_prev), dZ), db = sumOverInstances(dZ);
      grads["W" + k] = dW;
      grads["b" + k] = db;
      rec("dEdOutL" + k, dA);
      rec("dEdInL" + k, dZ);
      rec("dEdW" + k, dW);
      rec("dEdB" + k, db);
      dA = k > 1 ? matmul(dZ, transpose(layer.W)) : null;
      dZ = null;
    }
    var l2 = state.l2 || 0;
    if (l2) {
      var total = E + penalty(state.layers, l2);
      rec("E_data", E);
      rec("penalty", total - E);
      rec("E", total);
      for (k = 1; k <= L; k++) {
        rec("dEdW" + k + "_data", grads["W" + k]);
        grads["W" + k] = map2(grads["W" + k], state.layers[k - 1].W, function (g, w) {
          return g + l2 * w;
        });
        rec("dEdW" + k, grads["W" + k]);
      }
    }
    var frozen = state.frozen, lr = state.lr;
    var layers = state.layers.map(function (layer, i) {
      var k = i + 1, W = layer.W, b = layer.b;
      if (frozen.indexOf("W" + k) < 0) {
        W = map2(W, grads["W" + k], function (w, g) { return w - lr * g; });
      }
      if (frozen.indexOf("b" + k) < 0) {
        b = b.map(function (v, j) { return v - lr * grads["b" + k][j]; });
      }
      rec("W" + k + "_new", W);
      rec("b" + k + "_new", b);
      return Object.assign({}, layer, { W: W, b: b });
    });
    var after = Object.assign({}, state, { layers: layers });
    var eNew = instanceErrors(after, loss, y, forward(after, X));
    rec("e_new", eNew);
    var ENew = batchError(eNew, state.reduction);
    rec("E_new", l2 ? ENew + penalty(layers, l2) : ENew);
    return { values: values, order: order, after: after };
  }

  // -- what each quantity is --------------------------------------------------------------
  var LAYER_Q = /^(inL|outL|dEdOutL|dEdInL|dEdW|dEdB)(\d+)$/;
  var NEW_Q = /^([Wb])(\d+)_new$/;

  function below(k) { return k === 1 ? "x" : "outL" + (k - 1); }

  function describe(state, name) {
    var L = state.layers.length, n = state.x.length, loss = lossOf(state);
    var s = state.reduction === "mean" ? (n > 1 ? " · 1/" + n + " (the mean)" : "") : "";
    var m = LAYER_Q.exec(name), k, act;
    if (m) {
      k = Number(m[2]);
      act = activation(state.layers[k - 1]);
      var fused = k === L && fusedFor(state, loss);
      switch (m[1]) {
        case "inL":
          return { label: "Input to layer " + k + " (Z)", formula: "inL" + k + " = " + below(k) +
            " · W" + k + " + b" + k, uses: [below(k), "W" + k, "b" + k], col: k, edges: k };
        case "outL":
          return { label: "Output of layer " + k + " (A, " + state.layers[k - 1].activation + ")",
            formula: "outL" + k + " = f(inL" + k + "),  " + act.formula,
            uses: ["inL" + k], col: k };
        case "dEdOutL":
          if (k === L) {
            return { label: "dE/d(output of layer " + k + ")", formula: "dEdOutL" + k + " = " +
              loss.dformula.replace(/ŷ/g, "outL" + k) + s + (fused ? "\n(shown for reference: " +
              "the fused step below goes straight to dEdInL" + k + ")" : ""),
              uses: ["outL" + k, "y"], col: k, loss: true };
          }
          return { label: "dE/d(output of layer " + k + ")", formula: "dEdOutL" + k +
            " = dEdInL" + (k + 1) + " · W" + (k + 1) + "ᵀ", uses: ["dEdInL" + (k + 1), "W" + (k + 1)],
            col: k, edges: k + 1 };
        case "dEdInL":
          if (fused) {
            return { label: "dE/d(input of layer " + k + "), the delta", formula: "dEdInL" + k +
              " = " + loss.fused.replace(/outL/g, "outL" + k) + s + "   (" +
              state.layers[k - 1].activation + " and " + state.loss + " combined)",
              uses: ["outL" + k, "y"], col: k };
          }
          if (state.layers[k - 1].activation === "softmax") {
            return { label: "dE/d(input of layer " + k + "), the delta", formula: "dEdInL" + k +
              " = outL" + k + " ⊙ (dEdOutL" + k + " − Σⱼ dEdOutL" + k + "ⱼ · outL" + k + "ⱼ),  " +
              act.dformula, uses: ["dEdOutL" + k, "outL" + k], col: k };
          }
          return { label: "dE/d(input of layer " + k + "), the delta", formula: "dEdInL" + k +
            " = dEdOutL" + k + " ⊙ f′(inL" + k + "),  " + act.dformula,
            uses: ["dEdOutL" + k, "inL" + k], col: k };
        case "dEdW":
          if (state.l2) {
            return { label: "dE/dW" + k + " with the L2 penalty's part", formula: "dEdW" + k +
              " = dEdW" + k + "_data + l2 · W" + k + ",  l2 = " + state.l2,
              uses: ["dEdW" + k + "_data", "W" + k], edges: k };
          }
          return { label: "dE/dW" + k, formula: "dEdW" + k + " = " + below(k) + "ᵀ · dEdInL" + k +
            (n > 1 ? "   (a sum over the " + n + " instances)" : ""),
            uses: [below(k), "dEdInL" + k], edges: k };
        default:
          return { label: "dE/db" + k, formula: "dEdB" + k + " = " +
            (n > 1 ? "Σ over instances of dEdInL" + k : "dEdInL" + k),
            uses: ["dEdInL" + k], col: k };
      }
    }
    m = NEW_Q.exec(name);
    if (m) {
      k = Number(m[2]);
      var p = m[1] + k, g = m[1] === "W" ? "dEdW" + k : "dEdB" + k;
      if (state.frozen.indexOf(p) >= 0) {
        return { label: p + " after the update", formula: name + " = " + p + "   (frozen: kept fixed)",
          uses: [p], col: m[1] === "b" ? k : null, edges: m[1] === "W" ? k : null };
      }
      return { label: p + " after the update", formula: name + " = " + p + " − lr · " + g +
        ",  lr = " + state.lr, uses: [p, g], col: m[1] === "b" ? k : null,
        edges: m[1] === "W" ? k : null };
    }
    var l2 = state.l2 || 0, weights = state.layers.map(function (_, i) { return "W" + (i + 1); });
    m = /^dEdW(\d+)_data$/.exec(name);
    if (m) {
      k = Number(m[1]);
      return { label: "dE/dW" + k + " of the loss alone", formula: name + " = " + below(k) +
        "ᵀ · dEdInL" + k, uses: [below(k), "dEdInL" + k], edges: k };
    }
    if (name === "E_data") {
      return { label: "Batch error of the loss alone", formula: "E_data = " +
        (state.reduction === "mean" ? "(1/n) Σₛ eₛ,  n = " + n : "Σₛ eₛ"), uses: ["e"], loss: true };
    }
    if (name === "penalty") {
      return { label: "L2 penalty", formula: "penalty = l2/2 · Σₖ ‖Wk‖²,  l2 = " + l2,
        uses: weights, loss: true };
    }
    var fusedTop = fusedFor(state, loss);
    var yhat = fusedTop ? "inL" + L : "outL" + L;
    if (name === "e" || name === "e_new") {
      return { label: name === "e" ? "Error of each instance" : "Error of each instance after " +
        "the update", formula: (fusedTop ? "e from the logits z = inL" + L + ": " : "") +
        loss.formula.replace(/ŷ/g, "outL" + L) + (name === "e_new" ? "   (new parameters)" : ""),
        uses: name === "e" ? ["y", yhat] : ["y"], col: L, loss: true };
    }
    var e = name === "E" ? "e" : "e_new";
    if (l2) {
      return { label: name === "E" ? "Batch error with the L2 penalty" : "Batch error after " +
        "the update, with the penalty", formula: name === "E" ? "E = E_data + penalty" :
        "E_new = " + (state.reduction === "mean" ? "(1/n) Σₛ e_newₛ" : "Σₛ e_newₛ") +
        " + l2/2 · Σₖ ‖Wk_new‖²", uses: name === "E" ? ["e"] : ["e_new"], loss: true };
    }
    return { label: name === "E" ? "Batch error" : "Batch error after the update",
      formula: name + (state.reduction === "mean" ? " = (1/n) Σₛ " + e + "ₛ,  n = " + n
        : " = Σₛ " + e + "ₛ"), uses: [e], loss: true };
  }

  // -- page -------------------------------------------------------------------------------
  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4))
      : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text != null) node.textContent = text;
    return node;
  }
  function fmt(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e-4 && a < 1e6) return String(Number(v.toPrecision(6)));
    return v.toExponential(4);
  }
  function asRows(v) {
    if (typeof v === "number") return [[v]];
    return Array.isArray(v[0]) ? v : [v];
  }
  function table(value, caption) {
    var t = el("table");
    if (caption) t.appendChild(el("caption", {}, caption));
    asRows(value).forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (v) { tr.appendChild(el("td", {}, fmt(v))); });
      t.appendChild(tr);
    });
    var wrap = el("div", { "class": "mat" });
    wrap.appendChild(t);
    return wrap;
  }

  var start = JSON.parse(document.getElementById("cr-state").textContent);
  var state = clone(start);
  var trace = null, pos = 0, history = [], stepsTaken = 0, instance = 0;
  function clone(v) { return JSON.parse(JSON.stringify(v)); }
  function quantities() {
    return trace.order.slice(2 + 2 * state.layers.length);
  }

  function recompute() {
    trace = trainStep(state);
    if (history.length === 0) history = [trace.values.E];
    var dump = { order: trace.order, values: trace.values, history: history, steps: stepsTaken,
      pos: pos, current: quantities()[pos] };
    document.getElementById("cr-trace").textContent = JSON.stringify(dump);
    // Inside a notebook widget, the values go back to Python (see play_widget.js).
    if (window.parent !== window) {
      window.parent.postMessage({ source: "chainrule-play", trace: dump }, "*");
    }
    drawDiagram();
    showCurrent();
    drawCurve();
  }

  // The diagram: one column per layer (inputs first), then the batch error E.
  var geo = null;
  function layout() {
    var sizes = [state.x[0].length].concat(state.layers.map(function (l) { return l.b.length; }));
    var most = Math.max.apply(null, sizes), colW = 150, rowH = 64;
    var width = colW * sizes.length + 90, height = most * rowH + 40;
    var points = sizes.map(function (size, c) {
      var out = [];
      for (var j = 0; j < size; j++) {
        out.push({ x: 50 + c * colW, y: 30 + (most - size) * rowH / 2 + j * rowH + rowH / 2 - 10 });
      }
      return out;
    });
    return { sizes: sizes, width: width, height: height, points: points,
      lossAt: { x: 50 + sizes.length * colW - 40, y: height / 2 } };
  }
  function drawDiagram() {
    geo = geo || layout();
    var box = document.getElementById("cr-diagram");
    var q = quantities()[pos], d = describe(state, q), L = state.layers.length;
    var svg = el("svg:svg", { viewBox: "0 0 " + geo.width + " " + geo.height, role: "img",
      "aria-label": "network diagram; highlighted: " + q });
    var gmax = 0;
    for (var k = 1; k <= L; k++) {
      trace.values["dEdW" + k].forEach(function (row) {
        row.forEach(function (g) { gmax = Math.max(gmax, Math.abs(g)); });
      });
    }
    for (k = 1; k <= L; k++) {
      var from = geo.points[k - 1], to = geo.points[k], G = trace.values["dEdW" + k];
      from.forEach(function (a, i) {
        to.forEach(function (b, j) {
          var g = G[i][j], r = gmax > 0 ? Math.abs(g) / gmax : 0;
          var colour = g > 0 ? "#e8710a" : g < 0 ? "#8e24aa" : "#bbbbbb";
          var line = el("svg:line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y,
            "class": "edge" + (d.edges === k ? " hl" : ""), stroke: colour,
            "stroke-opacity": String(0.35 + 0.65 * r), "stroke-width": String(1 + 6 * r) });
          line.appendChild(el("svg:title", {}, "W" + k + "[" + (i + 1) + "," + (j + 1) + "] = " +
            fmt(state.layers[k - 1].W[i][j]) + ", dEdW" + k + " = " + fmt(g)));
          line.style.stroke = colour;
          svg.appendChild(line);
        });
      });
    }
    geo.points[L].forEach(function (p) {
      svg.appendChild(el("svg:line", { x1: p.x, y1: p.y, x2: geo.lossAt.x, y2: geo.lossAt.y,
        "class": "edge", "stroke-dasharray": "4 3" }));
    });
    // A per-neuron quantity (one column per neuron) is shown under the neurons it belongs to.
    var rows = Array.isArray(trace.values[q]) ? asRows(trace.values[q]) : null;
    var shown = rows && rows.length === state.x.length ? rows[instance] : rows && rows[0];
    geo.points.forEach(function (col, c) {
      col.forEach(function (p, j) {
        var hl = d.col === c;
        svg.appendChild(el("svg:circle", { cx: p.x, cy: p.y, r: 19,
          "class": "node" + (c === 0 ? " in" : "") + (hl ? " hl" : "") }));
        var name = c === 0 ? "x" + (j + 1) : "L" + c + "." + (j + 1);
        svg.appendChild(el("svg:text", { x: p.x, y: p.y + 4, "text-anchor": "middle",
          "class": "lbl" }, name));
        var value = c === 0 ? state.x[instance][j] : trace.values["outL" + c][instance][j];
        if (hl && shown && shown.length === col.length) value = shown[j];
        svg.appendChild(el("svg:text", { x: p.x, y: p.y + 33, "text-anchor": "middle",
          "class": "val" }, fmt(value)));
      });
    });
    svg.appendChild(el("svg:circle", { cx: geo.lossAt.x, cy: geo.lossAt.y, r: 19,
      "class": "node loss" + (d.loss ? " hl" : "") }));
    svg.appendChild(el("svg:text", { x: geo.lossAt.x, y: geo.lossAt.y + 4, "text-anchor": "middle",
      "class": "lbl" }, "E"));
    svg.appendChild(el("svg:text", { x: geo.lossAt.x, y: geo.lossAt.y + 33,
      "text-anchor": "middle", "class": "val" }, fmt(trace.values.E)));
    box.replaceChildren(svg);
  }

  function showCurrent() {
    var qs = quantities(), q = qs[pos], d = describe(state, q);
    document.getElementById("cr-pos").textContent = (pos + 1) + " / " + qs.length + ": " + q;
    var box = document.getElementById("cr-current");
    var name = el("div", { "class": "name" }, q + " — " + d.label);
    var formula = el("div", { "class": "formula" }, d.formula);
    var ops = el("div", { "class": "operands" });
    d.uses.forEach(function (u) {
      var part = el("div");
      part.appendChild(el("div", { "class": "note" }, u + " ="));
      part.appendChild(table(trace.values[u]));
      ops.appendChild(part);
    });
    var result = el("div");
    result.appendChild(el("div", { "class": "note" }, "so " + q + " ="));
    result.appendChild(table(trace.values[q]));
    box.replaceChildren(name, formula, ops, result);
    document.getElementById("cr-first").disabled = pos === 0;
    document.getElementById("cr-prev").disabled = pos === 0;
    document.getElementById("cr-next").disabled = pos === qs.length - 1;
    document.getElementById("cr-last").disabled = pos === qs.length - 1;
    var dump = JSON.parse(document.getElementById("cr-trace").textContent);
    dump.pos = pos;
    dump.current = q;
    document.getElementById("cr-trace").textContent = JSON.stringify(dump);
  }

  function go(to) {
    var last = quantities().length - 1;
    pos = Math.max(0, Math.min(last, to));
    drawDiagram();
    showCurrent();
  }

  function drawCurve() {
    var box = document.getElementById("cr-curve"), W = 600, H = 200, pad = 44;
    var log = history.every(function (v) { return v > 0; });
    var ys = history.map(function (v) { return log ? Math.log10(v) : v; });
    var lo = Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
    if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
    var nx = Math.max(history.length - 1, 1);
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label":
      "batch error over " + (history.length - 1) + " training steps, from " + fmt(history[0]) +
      " to " + fmt(history[history.length - 1]) });
    svg.appendChild(el("svg:line", { x1: pad, y1: H - 24, x2: W - 10, y2: H - 24, stroke: "#999" }));
    svg.appendChild(el("svg:line", { x1: pad, y1: 10, x2: pad, y2: H - 24, stroke: "#999" }));
    var pts = ys.map(function (v, i) {
      return (pad + (W - pad - 10) * i / nx).toFixed(1) + "," +
        (H - 24 - (H - 38) * (v - lo) / (hi - lo)).toFixed(1);
    });
    if (pts.length === 1) {
      svg.appendChild(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle", "class": "lbl" },
        "E = " + fmt(history[0]) + ": run training steps to draw the curve"));
      pts.push(pts[0]);
    }
    svg.appendChild(el("svg:polyline", { points: pts.join(" "), fill: "none", stroke: "#1a73e8",
      "stroke-width": "2" }));
    if (history.length > 1) {
      var top = log ? Math.pow(10, hi) : hi, bottom = log ? Math.pow(10, lo) : lo;
      svg.appendChild(el("svg:text", { x: 4, y: 18, "class": "val" }, fmt(top)));
      svg.appendChild(el("svg:text", { x: 4, y: H - 28, "class": "val" }, fmt(bottom)));
    }
    svg.appendChild(el("svg:text", { x: W / 2, y: H - 6, "text-anchor": "middle", "class": "lbl" },
      "training step (0 to " + (history.length - 1) + ")" + (log ? ", error on a log scale" : "")));
    box.replaceChildren(svg);
  }

  // -- editing ---------------------------------------------------------------------------
  var inputs = [];
  function numberInput(label, get, set, positive) {
    var input = el("input", { type: "text", inputmode: "decimal", "aria-label": label,
      spellcheck: "false", autocomplete: "off" });
    input.value = String(get());
    input.addEventListener("input", function () {
      var text = input.value.trim(), v = Number(text);
      var ok = text !== "" && Number.isFinite(v) && (!positive || v > 0);
      input.setAttribute("aria-invalid", ok ? "false" : "true");
      document.getElementById("cr-edit-status").textContent = ok ? "" :
        label + " must be a finite number" + (positive ? " > 0" : "") + "; got " + JSON.stringify(text);
      if (!ok) return;
      set(v);
      // A new starting point: the curve starts again from it, and a run under way stops.
      pending = 0;
      history = [];
      stepsTaken = 0;
      document.getElementById("cr-train-status").textContent = "";
      recompute();
    });
    inputs.push({ input: input, get: get });
    return input;
  }
  function grid(box, legend, rows, cols, label, get, set, note) {
    var fs = el("fieldset"), t = el("table");
    fs.appendChild(el("legend", {}, legend));
    if (note) fs.appendChild(el("div", { "class": "frozen" }, note));
    for (var r = 0; r < rows; r++) {
      var tr = el("tr");
      for (var c = 0; c < cols; c++) {
        var td = el("td");
        td.appendChild(numberInput(label(r, c), get.bind(null, r, c), set.bind(null, r, c)));
        tr.appendChild(td);
      }
      t.appendChild(tr);
    }
    fs.appendChild(t);
    box.appendChild(fs);
  }
  function buildEditors() {
    var box = document.getElementById("cr-edit"), n = state.x.length;
    function idx(name, oneRow) {
      return function (r, c) { return name + "[" + (oneRow ? "" : (r + 1) + ",") + (c + 1) + "]"; };
    }
    grid(box, "Input x (" + n + " × " + state.x[0].length + ")", n, state.x[0].length,
      idx("x", n === 1), function (r, c) { return state.x[r][c]; },
      function (r, c, v) { state.x[r][c] = v; });
    grid(box, "Target y (" + n + " × " + state.y[0].length + ")", n, state.y[0].length,
      idx("y", n === 1), function (r, c) { return state.y[r][c]; },
      function (r, c, v) { state.y[r][c] = v; });
    var fs = el("fieldset");
    fs.appendChild(el("legend", {}, "Learning rate"));
    fs.appendChild(numberInput("lr", function () { return state.lr; },
      function (v) { state.lr = v; }, true));
    box.appendChild(fs);
    state.layers.forEach(function (layer, i) {
      var k = i + 1, fw = state.frozen.indexOf("W" + k) >= 0, fb = state.frozen.indexOf("b" + k) >= 0;
      grid(box, "W" + k + " (" + layer.W.length + " × " + layer.b.length + "), layer " + k + ", " +
        layer.activation, layer.W.length, layer.b.length, idx("W" + k, false),
        function (r, c) { return state.layers[i].W[r][c]; },
        function (r, c, v) { state.layers[i].W[r][c] = v; }, fw ? "frozen: training leaves it" : "");
      grid(box, "b" + k + " (" + layer.b.length + ")", 1, layer.b.length, idx("b" + k, true),
        function (r, c) { return state.layers[i].b[c]; },
        function (r, c, v) { state.layers[i].b[c] = v; }, fb ? "frozen: training leaves it" : "");
    });
  }
  function refreshEditors() {
    inputs.forEach(function (item) {
      if (document.activeElement !== item.input) {
        item.input.value = String(item.get());
        item.input.setAttribute("aria-invalid", "false");
      }
    });
  }

  // -- training ------------------------------------------------------------------------------
  // Runs of more than 10 steps go a few steps per frame, so that the curve grows.
  var CHUNK = 5, pending = 0;
  function trainingButtons(enabled) {
    ["cr-train-1", "cr-train-10", "cr-train-100", "cr-reset"].forEach(function (id) {
      document.getElementById(id).disabled = !enabled;
    });
  }
  function train(steps) {
    if (pending > 0) return;
    pending = steps;
    var chunk = steps > 10 ? CHUNK : steps, stopped = false;
    trainingButtons(false);
    function run() {
      if (pending === 0) { // an edit stopped the run
        trainingButtons(true);
        return;
      }
      for (var t = 0; t < chunk && pending > 0; t++, pending--) {
        var step = trainStep(state);
        if (!Number.isFinite(step.values.E_new)) {
          stopped = true;
          pending = 0;
          break;
        }
        state.layers = step.after.layers;
        stepsTaken += 1;
        history.push(step.values.E_new);
      }
      refreshEditors();
      recompute();
      document.getElementById("cr-train-status").textContent = stopped ?
        "Stopped after " + stepsTaken + " steps: one more would make the error infinite or " +
        "NaN (try a smaller learning rate)." : "After " + stepsTaken + " training step" +
        (stepsTaken === 1 ? "" : "s") + ": E = " + fmt(trace.values.E) + " (it started at " +
        fmt(history[0]) + ")";
      if (pending > 0) {
        window.requestAnimationFrame(run);
      } else {
        trainingButtons(true);
      }
    }
    run();
  }

  function instancePicker() {
    var n = state.x.length;
    if (n === 1) return;
    var label = el("label", { "for": "cr-instance" }, "Neuron values of instance ");
    var select = el("select", { id: "cr-instance", "aria-label": "instance whose values the " +
      "diagram shows" });
    for (var s = 0; s < n; s++) select.appendChild(el("option", { value: String(s) }, String(s + 1)));
    select.addEventListener("change", function () {
      instance = Number(select.value);
      drawDiagram();
    });
    var note = el("p", { "class": "note" });
    note.appendChild(label);
    note.appendChild(select);
    note.appendChild(document.createTextNode(" of " + n + "; the gradients on the edges are " +
      "the whole batch's."));
    var box = document.getElementById("cr-diagram");
    box.parentNode.insertBefore(note, box);
  }

  function init() {
    document.getElementById("cr-title").textContent = state.title ?
      "chainrule play: " + state.title : "chainrule play";
    instancePicker();
    buildEditors();
    recompute();
    var last = function () { return quantities().length - 1; };
    document.getElementById("cr-first").addEventListener("click", function () { go(0); });
    document.getElementById("cr-prev").addEventListener("click", function () { go(pos - 1); });
    document.getElementById("cr-next").addEventListener("click", function () { go(pos + 1); });
    document.getElementById("cr-last").addEventListener("click", function () { go(last()); });
    ["cr-train-1", "cr-train-10", "cr-train-100"].forEach(function (id) {
      var button = document.getElementById(id);
      button.addEventListener("click", function () { train(Number(button.dataset.steps)); });
    });
    document.getElementById("cr-reset").addEventListener("click", function () {
      state = clone(start);
      history = [];
      stepsTaken = 0;
      pos = 0;
      document.getElementById("cr-train-status").textContent = "";
      refreshEditors();
      recompute();
    });
    document.addEventListener("keydown", function (event) {
      var tag = event.target && event.target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      var moves = { ArrowRight: pos + 1, ArrowLeft: pos - 1, Home: 0, End: last() };
      if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
        event.preventDefault();
        go(moves[event.key]);
      }
    });
  }
  init();
})();
